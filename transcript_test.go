package imaplib2

import (
	"bufio"
	"cmp"
	"compress/flate"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// scriptStepTimeout bounds every read and write of a scriptServer.
const scriptStepTimeout = 5 * time.Second

// scriptLateGrace is how long cleanup keeps reading after the script has ended,
// so that data a client sent just before closing its end is still reported.
// It only costs time when the test leaves the client connection open.
const scriptLateGrace = 50 * time.Millisecond

// A scriptServer plays the server side of one transcript over a loopback TCP
// connection and checks every byte the client sends against it.
//
// A transcript is a sequence of lines; spaces and tabs before the prefix are
// ignored, so scripts can be indented inside Go raw strings:
//
//	# comment (blank lines are ignored too)
//	S: text      server sends text+CRLF; text is taken literally
//	S~ escaped   server sends the unescaped bytes, no CRLF added
//	C: text      client must send exactly text+CRLF
//	C* regexp    client must send one line whose text matches regexp (anchored)
//	C~ escaped   client must send exactly the unescaped bytes
//	!eof         server closes the connection
//	!expect-eof  client must close the connection without sending anything
//	!silent      server says nothing more and waits for the client to close
//	!starttls    TLS server handshake; the script goes on over TLS
//	!compress    raw DEFLATE in both directions from here on
//
// Escapes are \r \n \t \\ \" and \xNN. A C: or C* line may begin with a tag
// placeholder such as $1: its first use binds it to the tag the client sent,
// later uses require that tag, and another placeholder may not bind a tag
// that is already taken. In S: and S~ lines every bound placeholder is
// replaced by its tag; an unbound $word is sent as is (so keywords such as
// $Forwarded need no escaping), except at the start of a line, where it is a
// script error. Use \x24 in an S~ line for a literal "$" before a bound name.
//
// A script that starts with !starttls serves implicit TLS. After the last
// step the connection stays open until the test's cleanup: the client may
// close it, but any data it sends then is reported as a failure.
//
// Typical use:
//
//	s := loadScript(t, "login.txt") // or newScriptServer(t, t.Name(), `...`)
//	// ... run the client against s.Addr() (or s.Dial(t)) ...
//	s.Wait()
type scriptServer struct {
	t     testing.TB
	name  string
	steps []scriptStep
	ln    *net.TCPListener

	timeout atomic.Int64 // time.Duration bounding each step
	checked atomic.Bool  // the result went to Wait or err
	aborted atomic.Bool  // cleanup cut the script short

	mu   sync.Mutex
	conn net.Conn // the accepted connection, once there is one

	done    chan struct{} // closed when the steps have ended
	exited  chan struct{} // closed when the serving goroutine has returned
	failure error         // written before done is closed
	late    []byte        // written before exited is closed
}

type scriptOp int

const (
	scriptSend      scriptOp = iota // S: and S~
	scriptRecvLine                  // C:
	scriptRecvMatch                 // C*
	scriptRecvRaw                   // C~
	scriptClose                     // !eof
	scriptExpectEOF                 // !expect-eof and !silent
	scriptStartTLS                  // !starttls
	scriptCompress                  // !compress
)

// A scriptStep is one parsed transcript line.
type scriptStep struct {
	line    int
	src     string // the line as written
	op      scriptOp
	text    string         // bytes to send, or to expect after the tag
	escaped bool           // scriptSend: unescape text after substitution
	tag     string         // scriptRecvLine, scriptRecvMatch: placeholder name without '$'
	re      *regexp.Regexp // scriptRecvMatch
}

var (
	scriptPlaceholderRE = regexp.MustCompile(`\$[A-Za-z0-9]+`)
	scriptLeadingNameRE = regexp.MustCompile(`^\$([A-Za-z0-9]+)`)
	scriptTagRE         = regexp.MustCompile(`^[A-Za-z0-9]+`)
)

// parseScript parses a transcript; name prefixes error messages.
func parseScript(name, script string) ([]scriptStep, error) {
	var steps []scriptStep
	bound := make(map[string]bool)
	compressed := false
	for i, line := range strings.Split(script, "\n") {
		line = strings.TrimLeft(strings.TrimSuffix(line, "\r"), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		st := scriptStep{line: i + 1, src: line}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: bad script line %q: %s", name, st.line, line, fmt.Sprintf(format, args...))
		}
		if k := len(steps); k > 0 && (steps[k-1].op == scriptClose || steps[k-1].op == scriptExpectEOF) {
			return nil, bad("nothing may follow %s", steps[k-1].src)
		}
		if line[0] == '!' {
			switch strings.TrimRight(line, " \t") {
			case "!eof":
				st.op = scriptClose
			case "!expect-eof", "!silent":
				st.op = scriptExpectEOF
			case "!starttls":
				st.op = scriptStartTLS
			case "!compress":
				st.op = scriptCompress
			default:
				return nil, bad("unknown directive")
			}
			if compressed && (st.op == scriptStartTLS || st.op == scriptCompress) {
				return nil, bad("not allowed after !compress")
			}
			compressed = compressed || st.op == scriptCompress
			steps = append(steps, st)
			continue
		}
		prefix, text := line[:min(2, len(line))], strings.TrimPrefix(line[min(2, len(line)):], " ")
		switch prefix {
		case "S:", "S~":
			st.op, st.text, st.escaped = scriptSend, text, prefix == "S~"
			if _, err := scriptUnescape(text); st.escaped && err != nil {
				return nil, bad("%v", err)
			}
			if m := scriptLeadingNameRE.FindStringSubmatch(text); m != nil && !bound[m[1]] {
				return nil, bad("placeholder %s is not bound by an earlier C: line", m[0])
			}
		case "C:", "C*":
			st.op = scriptRecvLine
			if m := scriptLeadingNameRE.FindStringSubmatch(text); m != nil {
				st.tag, text = m[1], text[len(m[0]):]
				bound[st.tag] = true
			}
			st.text = text
			if prefix == "C*" {
				re, err := regexp.Compile(`^(?:` + text + `)$`)
				if err != nil {
					return nil, bad("%v", err)
				}
				st.op, st.re = scriptRecvMatch, re
			}
		case "C~":
			b, err := scriptUnescape(text)
			if err != nil {
				return nil, bad("%v", err)
			}
			st.op, st.text = scriptRecvRaw, b
		default:
			return nil, bad(`want "S:", "S~", "C:", "C*", "C~", "!" or "#"`)
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// scriptUnescape decodes \r \n \t \\ \" and \xNN.
func scriptUnescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i++; i == len(s) {
			return "", errors.New(`"\" at end of line`)
		}
		switch s[i] {
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '\\', '"':
			b.WriteByte(s[i])
		case 'x':
			if i+3 > len(s) {
				return "", errors.New(`short \x escape`)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf(`bad \x escape %q`, s[i-1:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf(`unknown escape "\%c"`, s[i])
		}
	}
	return b.String(), nil
}

// newScriptServer parses script and listens on 127.0.0.1:0. It accepts one
// connection and plays the script on it in a goroutine, recording the first
// mismatch or I/O error. name (a file or test name) prefixes messages.
func newScriptServer(t testing.TB, name, script string) *scriptServer {
	t.Helper()
	steps, err := parseScript(name, script)
	if err != nil {
		t.Fatalf("%v", err)
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s := &scriptServer{t: t, name: name, steps: steps, ln: ln,
		done: make(chan struct{}), exited: make(chan struct{})}
	s.SetStepTimeout(scriptStepTimeout)
	t.Cleanup(s.cleanup)
	go s.serve()
	return s
}

// loadScript reads testdata/<file> and calls newScriptServer.
func loadScript(t testing.TB, file string) *scriptServer {
	t.Helper()
	name := path.Join("testdata", file)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return newScriptServer(t, name, string(b))
}

// Addr returns the listening address, "127.0.0.1:port".
func (s *scriptServer) Addr() string { return s.ln.Addr().String() }

// Port returns the listening port.
func (s *scriptServer) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Host returns the listening host, "127.0.0.1".
func (s *scriptServer) Host() string { return "127.0.0.1" }

// CertPool returns a pool holding the certificate that !starttls presents;
// it is valid for "localhost" and 127.0.0.1.
func (s *scriptServer) CertPool() *x509.CertPool {
	_, pool, err := harnessCert()
	if err != nil {
		s.t.Fatalf("%s: %v", s.name, err)
	}
	return pool
}

// SetStepTimeout bounds each later step, and the wait for the client to
// connect, to d.
func (s *scriptServer) SetStepTimeout(d time.Duration) {
	s.timeout.Store(int64(d))
	s.ln.SetDeadline(time.Now().Add(d)) // fails harmlessly once accepted
}

func (s *scriptServer) stepTimeout() time.Duration { return time.Duration(s.timeout.Load()) }

// Dial returns a client connection to the server, closed when t ends.
func (s *scriptServer) Dial(t testing.TB) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr(), s.stepTimeout())
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Done returns a channel that is closed when the script has finished or failed.
func (s *scriptServer) Done() <-chan struct{} { return s.done }

// Wait blocks until the script has finished or failed and reports a failure,
// including the transcript line, with t.Errorf.
func (s *scriptServer) Wait() {
	s.t.Helper()
	first := !s.checked.Swap(true)
	<-s.done
	if first && s.failure != nil {
		s.t.Errorf("%v", s.failure)
	}
}

// err is Wait returning the failure instead of reporting it.
func (s *scriptServer) err() error {
	<-s.done
	s.checked.Store(true)
	return s.failure
}

// cleanup stops the server, waits for its goroutine and reports a failure
// that nobody waited for, and client data sent after the end of the script.
func (s *scriptServer) cleanup() {
	s.t.Helper()
	select {
	case <-s.done:
		s.mu.Lock()
		if s.conn != nil {
			s.conn.SetReadDeadline(time.Now().Add(scriptLateGrace))
		}
		s.mu.Unlock()
		<-s.exited
	default:
	}
	s.mu.Lock()
	s.aborted.Store(true)
	s.ln.Close()
	if s.conn != nil {
		s.conn.Close()
	}
	s.mu.Unlock()
	<-s.exited
	if !s.checked.Load() && s.failure != nil {
		s.t.Errorf("%v", s.failure)
	}
	if len(s.late) > 0 {
		s.t.Errorf("%s: unexpected client data after end of script: %q", s.name, s.late)
	}
}

// serve accepts the connection and plays the script on it.
func (s *scriptServer) serve() {
	defer close(s.exited)
	conn, err := s.accept()
	if err != nil {
		s.failure = err
		close(s.done)
		return
	}
	defer conn.Close()
	p := &scriptPlayer{s: s, raw: conn, r: bufio.NewReader(conn), w: conn, tags: make(map[string]string)}
	if s.failure = p.play(); s.failure != nil {
		conn.Close() // let a waiting client fail at once
		close(s.done)
		return
	}
	conn.SetDeadline(time.Time{}) // before done: cleanup may set a new one
	close(s.done)
	s.late = p.drain()
}

func (s *scriptServer) accept() (net.Conn, error) {
	conn, err := s.ln.Accept()
	s.ln.Close()
	switch {
	case err != nil && s.aborted.Load():
		return nil, fmt.Errorf("%s: the test ended before a client connected", s.name)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, fmt.Errorf("%s: no client connected within %v", s.name, s.stepTimeout())
	case err != nil:
		return nil, fmt.Errorf("%s: %v", s.name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted.Load() {
		conn.Close()
		return nil, fmt.Errorf("%s: the test ended before the script started", s.name)
	}
	s.conn = conn
	return conn, nil
}

// A scriptPlayer is the state of the serving goroutine while it plays a script.
type scriptPlayer struct {
	s    *scriptServer
	raw  net.Conn      // the TCP connection
	r    *bufio.Reader // reads the current layer (TCP, TLS, DEFLATE)
	w    io.Writer     // writes the current layer
	zw   *flate.Writer // non-nil after !compress
	tags map[string]string
}

func (p *scriptPlayer) play() error {
	for i := range p.s.steps {
		st := &p.s.steps[i]
		p.raw.SetDeadline(time.Now().Add(p.s.stepTimeout()))
		if err := p.step(st); err != nil {
			if p.s.aborted.Load() {
				return fmt.Errorf("%s:%d: script did not finish: the test ended at %q", p.s.name, st.line, st.src)
			}
			return fmt.Errorf("%s:%d: %v", p.s.name, st.line, err)
		}
	}
	return nil
}

func (p *scriptPlayer) step(st *scriptStep) error {
	switch st.op {
	case scriptSend:
		return p.send(st)
	case scriptRecvLine, scriptRecvMatch:
		return p.recvLine(st)
	case scriptRecvRaw:
		got := make([]byte, len(st.text))
		n, err := io.ReadFull(p.r, got)
		if err != nil {
			return p.readError(fmt.Sprintf("%q", st.text), got[:n], err)
		}
		if string(got) != st.text {
			return fmt.Errorf("want %q, got %q", st.text, got)
		}
		return nil
	case scriptClose:
		return p.raw.Close()
	case scriptExpectEOF:
		return p.expectEOF()
	case scriptStartTLS:
		return p.startTLS()
	case scriptCompress:
		zw, err := flate.NewWriter(p.w, flate.DefaultCompression)
		if err != nil {
			return err
		}
		p.zw, p.w = zw, zw
		p.r = bufio.NewReader(flate.NewReader(p.r))
		return nil
	}
	panic("unknown step")
}

func (p *scriptPlayer) send(st *scriptStep) error {
	text := scriptPlaceholderRE.ReplaceAllStringFunc(st.text, func(m string) string {
		if tag, ok := p.tags[m[1:]]; ok {
			return tag
		}
		return m
	})
	if st.escaped {
		text, _ = scriptUnescape(text) // checked by parseScript; tags hold no '\'
	} else {
		text += "\r\n"
	}
	_, err := io.WriteString(p.w, text)
	if err == nil && p.zw != nil {
		err = p.zw.Flush()
	}
	if err != nil {
		return fmt.Errorf("sending %q: %v", text, err)
	}
	return nil
}

func (p *scriptPlayer) recvLine(st *scriptStep) error {
	got, err := p.r.ReadString('\n')
	body, crlf := strings.CutSuffix(got, "\r\n")
	// Where the script has a placeholder, split off the client's tag and
	// work out the tag the line must carry.
	var tag, wantTag string
	bound := false
	if st.tag != "" {
		tag = scriptTagRE.FindString(body)
		body = body[len(tag):]
		if wantTag, bound = p.tags[st.tag]; !bound {
			wantTag = cmp.Or(tag, "$"+st.tag)
		}
	}
	want := fmt.Sprintf("%q", wantTag+st.text+"\r\n")
	if st.re != nil {
		want = fmt.Sprintf("a line matching %q", wantTag+st.text)
	}
	if err != nil {
		return p.readError(want, []byte(got), err)
	}
	match := body == st.text
	if st.re != nil {
		match = st.re.MatchString(body)
	}
	if !crlf || tag != wantTag || !match {
		return fmt.Errorf("want %s, got %q", want, got)
	}
	if st.tag != "" && !bound {
		for name, t := range p.tags {
			if t == tag {
				return fmt.Errorf("client reused tag %q, already bound to $%s: got %q", tag, name, got)
			}
		}
		p.tags[st.tag] = tag
	}
	return nil
}

func (p *scriptPlayer) readError(want string, got []byte, err error) error {
	then := err.Error()
	switch {
	case scriptEOF(err):
		then = "the client closed the connection"
	case errors.Is(err, os.ErrDeadlineExceeded):
		then = fmt.Sprintf("timed out after %v", p.s.stepTimeout())
	}
	return fmt.Errorf("want %s, got %q, then %s", want, got, then)
}

func (p *scriptPlayer) expectEOF() error {
	buf := make([]byte, 512)
	for {
		n, err := p.r.Read(buf)
		switch {
		case n > 0:
			return fmt.Errorf("want the client to close the connection, got %q", buf[:n])
		case scriptEOF(err):
			return nil
		case err != nil:
			return p.readError("the client to close the connection", nil, err)
		}
	}
}

func (p *scriptPlayer) startTLS() error {
	if n := p.r.Buffered(); n > 0 {
		b, _ := p.r.Peek(n)
		return fmt.Errorf("client sent %q before the TLS handshake", b)
	}
	cert, _, err := harnessCert()
	if err != nil {
		return err
	}
	tc := tls.Server(p.raw, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %v", err)
	}
	p.r, p.w = bufio.NewReader(tc), tc
	return nil
}

// drain reads until the connection ends and returns what the client sent.
func (p *scriptPlayer) drain() []byte {
	var late []byte
	buf := make([]byte, 512)
	for {
		n, err := p.r.Read(buf)
		if len(late) < 1024 {
			late = append(late, buf[:n]...)
		}
		if err != nil {
			return late
		}
	}
}

// scriptEOF reports whether err means the client closed the connection. A
// DEFLATE stream cut off by the close ends in io.ErrUnexpectedEOF.
func scriptEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET)
}

var harnessTLS struct {
	once sync.Once
	cert tls.Certificate
	pool *x509.CertPool
	err  error
}

// harnessCert returns a self-signed ECDSA P-256 certificate for localhost and
// 127.0.0.1, made once per test binary, and a pool that trusts it.
func harnessCert() (tls.Certificate, *x509.CertPool, error) {
	h := &harnessTLS
	h.once.Do(func() {
		h.cert, h.pool, h.err = selfSignedCert([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	})
	return h.cert, h.pool, h.err
}

// selfSignedCert makes a self-signed ECDSA P-256 server certificate for the
// host names (the first is also its subject) and addresses, valid from
// notBefore to notAfter, and a pool that trusts it.
func selfSignedCert(names []string, ips []net.IP, notBefore, notAfter time.Time) (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		IPAddresses:           ips,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
