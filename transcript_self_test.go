package imaplib2

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the scripted IMAP server in transcript_test.go, driven by a raw
// client so that they do not depend on the library.

// scriptFakeTB records what the harness reports and holds its cleanups until
// finish, so the tests can examine failures as values.
type scriptFakeTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func newScriptFakeTB(t *testing.T) *scriptFakeTB {
	f := &scriptFakeTB{TB: t}
	t.Cleanup(func() { f.finish() })
	return f
}

func (f *scriptFakeTB) Helper() {}

func (f *scriptFakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *scriptFakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// finish runs the cleanups, last first, and returns the reported errors.
func (f *scriptFakeTB) finish() []string {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

func (f *scriptFakeTB) reported() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// scriptClient is a minimal client for driving a scriptServer by hand.
type scriptClient struct {
	t      *testing.T
	conn   io.Closer
	raw    net.Conn
	r      *bufio.Reader
	w      io.Writer
	zw     *flate.Writer
	closed bool
}

func dialScriptClient(t *testing.T, s *scriptServer) *scriptClient {
	t.Helper()
	conn := s.Dial(t)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &scriptClient{t: t, conn: conn, raw: conn, r: bufio.NewReader(conn), w: conn}
}

func (c *scriptClient) send(data string) {
	c.t.Helper()
	_, err := io.WriteString(c.w, data)
	if err == nil && c.zw != nil {
		err = c.zw.Flush()
	}
	if err != nil {
		c.t.Fatalf("client: sending %q: %v", data, err)
	}
}

// expect reads len(want) bytes and requires them to equal want.
func (c *scriptClient) expect(want string) {
	c.t.Helper()
	got := make([]byte, len(want))
	if n, err := io.ReadFull(c.r, got); err != nil {
		c.t.Fatalf("client: want %q, got %q, then %v", want, got[:n], err)
	}
	require.Equal(c.t, want, string(got), "client")
}

func (c *scriptClient) expectEOF() {
	c.t.Helper()
	b, err := c.r.ReadByte()
	require.Equal(c.t, io.EOF, err, "client: want EOF, got %q", b)
}

func (c *scriptClient) startTLS(pool *x509.CertPool, serverName string) {
	c.t.Helper()
	if c.r.Buffered() > 0 {
		c.t.Fatalf("client: unread data before TLS")
	}
	tc := tls.Client(c.raw, &tls.Config{RootCAs: pool, ServerName: serverName})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("client: TLS handshake: %v", err)
	}
	c.conn, c.r, c.w = tc, bufio.NewReader(tc), tc
}

func (c *scriptClient) compress() {
	c.zw, _ = flate.NewWriter(c.w, flate.BestSpeed)
	c.w = c.zw
	c.r = bufio.NewReader(flate.NewReader(c.r))
}

func (c *scriptClient) close() {
	if !c.closed {
		c.closed = true
		c.conn.Close()
	}
}

func TestScriptServerHappyPath(t *testing.T) {
	checkLeaks(t)
	s := newScriptServer(t, t.Name(), `
		# Indented, with comments and blank lines.
		S: * OK ready

		C: $1 LOGIN alice secret
		S: $1 OK logged in
		C: $a APPEND INBOX (\Seen) {11}
		S: + go ahead
		C~ hello\r\nbye
		C:
		S: $a OK [APPENDUID 1 7] done
		C: $b FETCH 7 (FLAGS BODY[]) $1
		S: * 7 FETCH (FLAGS (\Seen $Forwarded) BODY[] {12}
		S~ hello\r\nworld
		S: ) $1 $a
		S~ $b OK \x24b\tdone\r\n
		C* $c AUTHENTICATE PLAIN [A-Za-z0-9+/=]+
		S: $c OK
	`)
	assert.Equal(t, "127.0.0.1", s.Host())
	assert.Equal(t, net.JoinHostPort(s.Host(), strconv.Itoa(s.Port())), s.Addr())
	c := dialScriptClient(t, s)
	c.expect("* OK ready\r\n")
	c.send("A001 LOGIN alice secret\r\n")
	c.expect("A001 OK logged in\r\n")
	c.send("A002 APPEND INBOX (\\Seen) {11}\r\n")
	c.expect("+ go ahead\r\n")
	c.send("hello\r\nbye\r\n")
	c.expect("A002 OK [APPENDUID 1 7] done\r\n")
	c.send("A003 FETCH 7 (FLAGS BODY[]) $1\r\n") // "$1" is literal here
	c.expect("* 7 FETCH (FLAGS (\\Seen $Forwarded) BODY[] {12}\r\nhello\r\nworld) A001 A002\r\n")
	c.expect("A003 OK $b\tdone\r\n")
	c.send("x4 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n")
	c.expect("x4 OK\r\n")
	receive(t, s.Done(), "the script's Done channel")
	s.Wait()
	c.close()
}

func TestScriptServerFile(t *testing.T) {
	checkLeaks(t)
	t.Run("ok", func(t *testing.T) {
		s := loadScript(t, "harness/login.txt")
		c := dialScriptClient(t, s)
		c.expect("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test server ready\r\n")
		c.send("a1 LOGIN alice \"open sesame\"\r\n")
		c.expect("a1 OK [CAPABILITY IMAP4rev1] logged in\r\n")
		c.send("a2 LOGOUT\r\n")
		c.expect("* BYE logging out\r\na2 OK LOGOUT completed\r\n")
		c.close()
		s.Wait()
	})
	t.Run("mismatch", func(t *testing.T) {
		f := newScriptFakeTB(t)
		s := loadScript(f, "harness/login.txt")
		c := dialScriptClient(t, s)
		c.send("a1 LOGIN alice \"open sesame!\"\r\n")
		c.expect("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test server ready\r\n")
		c.expectEOF() // the server hangs up on a mismatch
		s.Wait()
		errs := f.finish()
		want := `testdata/harness/login.txt:3: want "a1 LOGIN alice \"open sesame\"\r\n", got "a1 LOGIN alice \"open sesame!\"\r\n"`
		assert.Equal(t, []string{want}, errs)
	})
}

func TestScriptServerMismatch(t *testing.T) {
	const greet = `
		S: * OK hi
		C: $1 NOOP
		S: $1 OK
	`
	tests := []struct {
		name, script string
		client       string // sent after reading the greeting
		hangUp       bool   // the client closes after sending
		want         string // in the error, after "name:line: "
		line         int
	}{
		{"text", greet, "A1 NOP\r\n", false,
			`want "A1 NOOP\r\n", got "A1 NOP\r\n"`, 3},
		{"no CR", greet, "A1 NOOP\n", false,
			`want "A1 NOOP\r\n", got "A1 NOOP\n"`, 3},
		{"no tag", greet, " NOOP\r\n", false,
			`want "$1 NOOP\r\n", got " NOOP\r\n"`, 3},
		{"partial then close", greet, "A1 NO", true,
			`want "A1 NOOP\r\n", got "A1 NO", then the client closed the connection`, 3},
		{"tag changed", greet + "C: $1 NOOP", "A1 NOOP\r\nA2 NOOP\r\n", false,
			`want "A1 NOOP\r\n", got "A2 NOOP\r\n"`, 5},
		{"tag reused", greet + "C: $2 NOOP", "A1 NOOP\r\nA1 NOOP\r\n", false,
			`client reused tag "A1", already bound to $1: got "A1 NOOP\r\n"`, 5},
		{"literal", greet + "C~ abc\\r\\n", "A1 NOOP\r\nabd\r\n", false,
			`want "abc\r\n", got "abd\r\n"`, 5},
		{"regexp", "S: * OK hi\nC* $1 AUTH [0-9]+", "A1 AUTH 12x\r\n", false,
			`want a line matching "A1 AUTH [0-9]+", got "A1 AUTH 12x\r\n"`, 2},
		{"expect eof", "S: * OK hi\n!expect-eof", "A1 LOGOUT\r\n", true,
			`want the client to close the connection, got "A1 LOGOUT\r\n"`, 2},
		{"silent", "S: * OK hi\n!silent", "A1 NOOP\r\n", false,
			`want the client to close the connection, got "A1 NOOP\r\n"`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			f := newScriptFakeTB(t)
			s := newScriptServer(f, "script", tt.script)
			c := dialScriptClient(t, s)
			c.expect("* OK hi\r\n")
			c.send(tt.client)
			if tt.hangUp {
				c.close()
			}
			err := s.err()
			want := "script:" + strconv.Itoa(tt.line) + ": " + tt.want
			assert.EqualError(t, err, want)
			c.close()
			assert.Empty(t, f.finish(), "cleanup reported the failure after err() handed it out")
		})
	}
}

func TestScriptServerStepTimeout(t *testing.T) {
	checkLeaks(t)
	f := newScriptFakeTB(t)
	s := newScriptServer(f, "slow", "S: * OK hi\nC: $1 GO\nC: $2 NOOP")
	c := dialScriptClient(t, s)
	c.expect("* OK hi\r\n")
	// Line 2 may have started with the old timeout, line 3 cannot have:
	// it starts only after the server has read "A1 GO".
	s.SetStepTimeout(50 * time.Millisecond)
	c.send("A1 GO\r\nA2 NO")
	err := s.err()
	want := `slow:3: want "A2 NOOP\r\n", got "A2 NO", then timed out after 50ms`
	assert.EqualError(t, err, want)
	c.close()
	f.finish()
}

func TestScriptServerNoClient(t *testing.T) {
	checkLeaks(t)
	f := newScriptFakeTB(t)
	s := newScriptServer(f, "lonely", "S: * OK hi")
	s.SetStepTimeout(20 * time.Millisecond)
	assert.EqualError(t, s.err(), "lonely: no client connected within 20ms")
	f.finish()
}

func TestScriptServerUnfinished(t *testing.T) {
	checkLeaks(t)
	t.Run("connected", func(t *testing.T) {
		f := newScriptFakeTB(t)
		s := newScriptServer(f, "script", "S: * OK hi\nC: $1 NOOP\nS: $1 OK")
		c := dialScriptClient(t, s)
		c.expect("* OK hi\r\n")
		// The test "forgets" to send NOOP and to call Wait.
		errs := f.finish()
		want := `script:2: script did not finish: the test ended at "C: $1 NOOP"`
		assert.Equal(t, []string{want}, errs)
	})
	t.Run("never connected", func(t *testing.T) {
		f := newScriptFakeTB(t)
		newScriptServer(f, "script", "S: * OK hi")
		errs := f.finish()
		want := "script: the test ended before a client connected"
		assert.Equal(t, []string{want}, errs)
	})
}

func TestScriptServerLateData(t *testing.T) {
	checkLeaks(t)
	f := newScriptFakeTB(t)
	s := newScriptServer(f, "script", "S: * OK hi")
	c := dialScriptClient(t, s)
	c.expect("* OK hi\r\n")
	s.Wait()
	require.Empty(t, f.reported(), "Wait reported")
	c.send("A1 LOGOUT\r\n")
	c.close()
	<-s.exited // the server has seen the data and the close
	errs := f.finish()
	want := `script: unexpected client data after end of script: "A1 LOGOUT\r\n"`
	assert.Equal(t, []string{want}, errs)
}

func TestScriptServerEOF(t *testing.T) {
	checkLeaks(t)
	s := newScriptServer(t, t.Name(), `
		S: * OK hi
		C: $1 LOGOUT
		S: * BYE
		!eof
	`)
	c := dialScriptClient(t, s)
	c.expect("* OK hi\r\n")
	c.send("A1 LOGOUT\r\n")
	c.expect("* BYE\r\n")
	c.expectEOF()
	s.Wait()
}

func TestScriptServerExpectEOF(t *testing.T) {
	checkLeaks(t)
	s := newScriptServer(t, t.Name(), "S: * BYE go away\n!expect-eof")
	c := dialScriptClient(t, s)
	c.expect("* BYE go away\r\n")
	c.close()
	s.Wait()
}

func TestScriptServerSilent(t *testing.T) {
	checkLeaks(t)
	s := newScriptServer(t, t.Name(), "S: * OK hi\nC: $1 NOOP\n!silent")
	c := dialScriptClient(t, s)
	c.expect("* OK hi\r\n")
	c.send("A1 NOOP\r\n")
	c.raw.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var nerr net.Error
	_, err := c.r.ReadByte()
	require.ErrorAs(t, err, &nerr, "client read: want a timeout")
	require.True(t, nerr.Timeout(), "client read: want a timeout, got %v", err)
	c.close()
	s.Wait()
}

func TestScriptServerStartTLS(t *testing.T) {
	checkLeaks(t)
	t.Run("starttls", func(t *testing.T) {
		s := newScriptServer(t, t.Name(), `
			S: * OK [CAPABILITY IMAP4rev1 STARTTLS] hi
			C: $1 STARTTLS
			S: $1 OK begin TLS
			!starttls
			C: $2 CAPABILITY
			S: * CAPABILITY IMAP4rev1 AUTH=PLAIN
			S: $2 OK
		`)
		c := dialScriptClient(t, s)
		c.expect("* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n")
		c.send("A1 STARTTLS\r\n")
		c.expect("A1 OK begin TLS\r\n")
		c.startTLS(s.CertPool(), s.Host())
		c.send("A2 CAPABILITY\r\n")
		c.expect("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA2 OK\r\n")
		c.close()
		s.Wait()
	})
	t.Run("implicit", func(t *testing.T) {
		s := newScriptServer(t, t.Name(), "!starttls\nS: * OK hi\n!expect-eof")
		c := dialScriptClient(t, s)
		c.startTLS(s.CertPool(), "localhost")
		c.expect("* OK hi\r\n")
		c.close()
		s.Wait()
	})
	t.Run("data before handshake", func(t *testing.T) {
		f := newScriptFakeTB(t)
		s := newScriptServer(f, "script", "C: $1 STARTTLS\nS: $1 OK\n!starttls")
		c := dialScriptClient(t, s)
		c.send("A1 STARTTLS\r\nA2 NOOP\r\n")
		err := s.err()
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "script:3: "), "err() = %v, want a failure at line 3", err)
		c.close()
		f.finish()
	})
}

func TestScriptServerCompress(t *testing.T) {
	checkLeaks(t)
	s := newScriptServer(t, t.Name(), `
		S: * OK hi
		C: $1 COMPRESS DEFLATE
		S: $1 OK DEFLATE active
		!compress
		C: $2 APPEND INBOX {5+}
		C~ hello
		C:
		S: $2 OK appended
		C: $3 FETCH 1 BODY[]
		S: * 1 FETCH (BODY[] {3}
		S~ abc
		S: )
		S: $3 OK
	`)
	c := dialScriptClient(t, s)
	c.expect("* OK hi\r\n")
	c.send("A1 COMPRESS DEFLATE\r\n")
	c.expect("A1 OK DEFLATE active\r\n")
	c.compress()
	c.send("A2 APPEND INBOX {5+}\r\nhello\r\n")
	c.expect("A2 OK appended\r\n")
	c.send("A3 FETCH 1 BODY[]\r\n")
	c.expect("* 1 FETCH (BODY[] {3}\r\nabc)\r\nA3 OK\r\n")
	c.close()
	s.Wait()
}

func TestScriptServerParse(t *testing.T) {
	tests := []struct{ script, want string }{
		{"X: hi", `x:1: bad script line "X: hi": want "S:", "S~", "C:", "C*", "C~", "!" or "#"`},
		{"\n# c\nS~ a\\qb", `x:3: bad script line "S~ a\\qb": unknown escape "\q"`},
		{"S~ a\\", `x:1: bad script line "S~ a\\": "\" at end of line`},
		{"C~ \\x4", `x:1: bad script line "C~ \\x4": short \x escape`},
		{"C~ \\xzz", `x:1: bad script line "C~ \\xzz": bad \x escape "\\xzz"`},
		{"S: $1 OK", `x:1: bad script line "S: $1 OK": placeholder $1 is not bound by an earlier C: line`},
		{"C* (", "x:1: bad script line \"C* (\": error parsing regexp: missing closing ): `^(?:()$`"},
		{"!eof\nS: hi", `x:2: bad script line "S: hi": nothing may follow !eof`},
		{"!compress\n!starttls", `x:2: bad script line "!starttls": not allowed after !compress`},
		{"!bogus", `x:1: bad script line "!bogus": unknown directive`},
	}
	for _, tt := range tests {
		_, err := parseScript("x", tt.script)
		assert.EqualError(t, err, tt.want, "parseScript(%q)", tt.script)
	}
	steps, err := parseScript("x", "S: \\Seen $1\r\nC: $1 X\nS: $1 OK $Junk\nS~ \\x41\\r\\n\\t\\\\\\\"\n!silent")
	require.NoError(t, err)
	require.Len(t, steps, 5)
	assert.Equal(t, `\Seen $1`, steps[0].text)
	assert.Equal(t, "1", steps[1].tag)
	assert.Equal(t, " X", steps[1].text)
	assert.Equal(t, scriptExpectEOF, steps[4].op)
	assert.Equal(t, 5, steps[4].line)
	got, err := scriptUnescape(steps[3].text)
	require.NoError(t, err)
	assert.Equal(t, "A\r\n\t\\\"", got)
}
