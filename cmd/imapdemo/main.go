// Command imapdemo is a guided tour of imaplib2: it connects, logs in,
// selects INBOX, runs 200 FETCH commands pipelined on one connection (and
// the same 200 one at a time, for comparison), IDLEs until another
// connection appends a message, expunges and logs out, printing one or two
// lines per step with timings.
//
//	go run ./cmd/imapdemo                # against an in-process go-imap memory server
//	go run ./cmd/imapdemo -debug 4       # the same, with the protocol trace on stderr
//
// Against a real server the tour is read-only (EXAMINE, FETCH of the last 20
// headers, IDLE for 5 s, LOGOUT):
//
//	IMAPDEMO_PASSWORD=... go run ./cmd/imapdemo -addr imap.example.org:993 -tls -user me
//
// Without IMAPDEMO_PASSWORD the password is read from standard input after a
// prompt; the terminal echoes it, as the standard library cannot turn echo off.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imaplib2go/imaplib2"
	"github.com/imaplib2go/imaplib2/internal/memserver"
)

const numMessages = 200

type tour struct {
	out        io.Writer // the story
	host       string
	opts       imaplib2.Options
	user, pass string
	tls        bool // implicit TLS (NewSSL)
	starttls   bool
	readOnly   bool            // a real server: look, never touch
	idling     <-chan struct{} // in-process server: a session entered IDLE
	m          *imaplib2.IMAP4
	exists     int
	parallel   time.Duration // how long the pipelined FETCHes took
	newest     string        // a real server: the newest message's subject
	idleFor    time.Duration // a real server: how long to IDLE
	rtt        time.Duration // in-process server: simulated round-trip time
}

func main() {
	t := &tour{out: os.Stdout, idleFor: 5 * time.Second}
	flag.DurationVar(&t.rtt, "rtt", time.Millisecond, "in-process server: delay its replies by this much, like a network round trip (0: raw loopback)")
	debug := flag.Int("debug", 0, "imaplib2 debug level; 4 traces every protocol line on stderr")
	addr := flag.String("addr", "", "host:port of a real IMAP server (read-only tour); empty: an in-process server")
	flag.StringVar(&t.user, "user", "", "user name on the -addr server; the password comes from $IMAPDEMO_PASSWORD or a prompt")
	flag.BoolVar(&t.tls, "tls", false, "-addr: implicit TLS (port 993 by default)")
	flag.BoolVar(&t.starttls, "starttls", false, "-addr: upgrade with STARTTLS after connecting")
	insecure := flag.Bool("insecure", false, "-addr: do not verify the server's TLS certificate")
	flag.Parse()
	t.opts = imaplib2.Options{Debug: *debug, Timeout: time.Minute}
	if *insecure {
		t.opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if err := t.run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "imapdemo:", err)
		os.Exit(1)
	}
}

func (t *tour) run(addr string) error {
	steps := []func() error{t.connect, t.login, t.fill, t.list, t.open, t.search, t.headers, t.fetchParallel, t.fetchSerial, t.idleWoken, t.expunge, t.logout}
	if addr == "" {
		stop, err := t.startMemServer()
		if err != nil {
			return err
		}
		defer stop()
	} else {
		if err := t.useRealServer(addr); err != nil {
			return err
		}
		steps = []func() error{t.connect, t.login, t.list, t.open, t.search, t.headers, t.fetchParallel, t.idleTimeout, t.logout}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			if t.m != nil {
				t.m.Shutdown()
			}
			return err
		}
	}
	return nil
}

// say prints one step of the story: a label, what happened, how long it took.
func (t *tour) say(label string, start time.Time, format string, args ...any) {
	fmt.Fprintf(t.out, "%-9s %s (%s)\n", label, fmt.Sprintf(format, args...), ms(time.Since(start)))
}

// more prints a continuation line of the step above.
func (t *tour) more(format string, args ...any) {
	fmt.Fprintf(t.out, "%-9s %s\n", "", fmt.Sprintf(format, args...))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// startMemServer runs a go-imap in-memory server on 127.0.0.1:0 with one
// user, an empty INBOX and an empty Archive, and returns the function that
// stops it.
func (t *tour) startMemServer() (stop func(), err error) {
	t.user, t.pass = "demo", "demo-password"
	srv, err := memserver.Start(memserver.Options{
		User:         t.user,
		Password:     t.pass,
		Mailboxes:    []string{"INBOX", "Archive"},
		WrapListener: func(ln net.Listener) net.Listener { return slowListener{ln, t.rtt} },
		Logf:         log.New(os.Stderr, "memserver: ", 0).Printf,
	})
	if err != nil {
		return nil, err
	}
	t.idling = srv.Idling()
	t.host, t.opts.Port = srv.Host(), srv.Port()
	fmt.Fprintf(t.out, "imapdemo: in-process go-imap memory server on %s, user %q, replies delayed %v (-rtt)\n", srv.Addr(), t.user, t.rtt)
	return func() { srv.Close() }, nil
}

// slowListener delays what the server sends by rtt, as a network would:
// unlike a sleep in Write, data sent together stays together, so pipelined
// commands gain what they would gain on a real link.
type slowListener struct {
	net.Listener
	rtt time.Duration
}

func (l slowListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil || l.rtt <= 0 {
		return conn, err
	}
	c := &slowConn{Conn: conn, queue: make(chan delayed, 4096), rtt: l.rtt}
	go c.pump()
	return c, nil
}

type delayed struct {
	due  time.Time
	data []byte
}

type slowConn struct {
	net.Conn
	rtt    time.Duration
	mu     sync.Mutex
	closed bool
	queue  chan delayed // closed by Close; pump then closes Conn
}

func (c *slowConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.queue <- delayed{time.Now().Add(c.rtt), bytes.Clone(p)}
	return len(p), nil
}

func (c *slowConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	return nil
}

// pump writes out the queued data when it is due, then closes the connection.
func (c *slowConn) pump() {
	for d := range c.queue {
		time.Sleep(time.Until(d.due))
		c.Conn.Write(d.data) // after an error the client sees the connection end
	}
	c.Conn.Close()
}

// useRealServer parses -addr and finds the password.
func (t *tour) useRealServer(addr string) error {
	t.readOnly = true
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, "0" // no port: the library's default
	}
	t.host = host
	if t.opts.Port, err = strconv.Atoi(port); err != nil {
		return fmt.Errorf("bad port in -addr %q", addr)
	}
	if t.user == "" {
		return errors.New("-addr needs -user")
	}
	t.pass = os.Getenv("IMAPDEMO_PASSWORD")
	if t.pass == "" {
		fmt.Fprintf(os.Stderr, "password for %s (echoed!): ", t.user)
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the password: %w", err)
		}
		t.pass = strings.TrimRight(line, "\r\n")
	}
	return nil
}

// dial opens a connection the way the flags say; id names it in the
// debug trace.
func (t *tour) dial(id string) (*imaplib2.IMAP4, error) {
	opts := t.opts
	opts.Identifier = id
	if t.tls {
		return imaplib2.NewSSL(t.host, &opts)
	}
	m, err := imaplib2.New(t.host, &opts)
	if err == nil && t.starttls {
		if _, err = m.StartTLS(nil).Wait(); err != nil {
			m.Shutdown()
		}
	}
	return m, err
}

func (t *tour) connect() (err error) {
	start := time.Now()
	if t.m, err = t.dial("main"); err != nil {
		return err
	}
	t.say("connect", start, "%s, state %s, greeting %q", t.m.ProtocolVersion(), t.m.State(), t.m.Welcome())
	t.more("capabilities: %s", strings.Join(t.m.Capabilities(), " "))
	return nil
}

func (t *tour) login() error {
	start := time.Now()
	res, err := t.m.Login(t.user, t.pass).Wait()
	if err != nil {
		return err
	}
	t.say("LOGIN", start, "%s %s, state %s, %d capabilities now", res.Type, res.Data[0].Text, t.m.State(), len(t.m.Capabilities()))
	return nil
}

// message is the generated message number i; the one before the last is a
// multipart message with an attachment and an encoded subject.
func message(i int) []byte {
	if i == numMessages-1 {
		return []byte("From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.org>\r\nTo: you@example.org\r\n" +
			"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgQmVybGlu?=\r\nMessage-ID: <last@imapdemo.example.org>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
			"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe report is attached.\r\n" +
			"--b1\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n")
	}
	return fmt.Appendf(nil, "From: imapdemo <demo@example.org>\r\nTo: you@example.org\r\n"+
		"Subject: message %d\r\nMessage-ID: <%d@imapdemo.example.org>\r\n\r\nThis is message %d.\r\n%s",
		i, i, i, strings.Repeat("Lorem ipsum dolor sit amet.\r\n", i%9))
}

// fill issues numMessages APPENDs at once: the server offers LITERAL+, so
// their literals need no "+" and the library pipelines them.
func (t *tour) fill() error {
	start := time.Now()
	cmds := make([]*imaplib2.Command, numMessages)
	for i := range cmds {
		cmds[i] = t.m.Append("INBOX", "", time.Time{}, message(i+1))
	}
	for _, c := range cmds {
		if _, err := c.Wait(); err != nil {
			return err
		}
	}
	t.say("APPEND", start, "%d messages issued at once, pipelined: with LITERAL+ no APPEND waits for a \"+\"", numMessages)
	return nil
}

func (t *tour) list() error {
	start := time.Now()
	res, err := t.m.List(`""`, "*").Wait()
	if err != nil {
		return err
	}
	mailboxes, err := res.Mailboxes()
	if err != nil {
		return err
	}
	var names []string
	for _, mb := range mailboxes {
		names = append(names, fmt.Sprintf("%s %v", mb.Name, mb.Attributes))
	}
	t.say("LIST", start, "%d mailboxes (typed: Result.Mailboxes): %s", len(names), strings.Join(names, "; "))
	return nil
}

// headers fetches the newest messages' envelopes and body structures and
// shows them typed: subject and sender, and the parts with the specifiers
// to fetch them by.
func (t *tour) headers() error {
	start := time.Now()
	first := max(1, t.exists-2)
	res, err := t.m.Fetch(fmt.Sprintf("%d:%d", first, t.exists), "(UID ENVELOPE BODYSTRUCTURE)").Wait()
	if err != nil {
		return err
	}
	msgs, err := res.Messages()
	if err != nil {
		return err
	}
	t.say("FETCH", start, "ENVELOPE and BODYSTRUCTURE of the newest %d messages (typed: Result.Messages)", len(msgs))
	for _, msg := range msgs {
		from := "?"
		if env := msg.Envelope; env != nil && len(env.From) > 0 {
			from = env.From[0].Addr()
			if env.From[0].Name != "" {
				from = env.From[0].Name + " <" + from + ">"
			}
		}
		var parts []string
		if msg.BodyStructure != nil {
			msg.BodyStructure.Walk(func(path string, part *imaplib2.BodyStructure) bool {
				parts = append(parts, strings.TrimSpace(fmt.Sprintf("[%s] %s %s", path, part.MediaType, part.Filename())))
				return true
			})
		}
		subject := ""
		if msg.Envelope != nil {
			subject = msg.Envelope.Subject
		}
		t.more("UID %d %q from %s: %s", msg.UID, subject, from, strings.Join(parts, ", "))
	}
	return nil
}

func (t *tour) open() error {
	start := time.Now()
	if _, err := t.m.Select("INBOX", t.readOnly).Wait(); err != nil {
		return err
	}
	sel, _ := t.m.Selected()
	t.exists = int(sel.Exists)
	name := map[bool]string{false: "SELECT", true: "EXAMINE"}[t.readOnly]
	t.say(name, start, "INBOX: %d messages, UIDVALIDITY %d, state %s (typed: Selected)", sel.Exists, sel.UIDValidity, t.m.State())
	return nil
}

func (t *tour) search() error {
	start := time.Now()
	res, err := t.m.Search("", "ALL").Wait()
	if err != nil {
		return err
	}
	found, err := res.Nums()
	if err != nil {
		return err
	}
	t.say("SEARCH", start, "ALL matched %d messages (typed: Result.Nums)", len(found))
	if !t.readOnly && len(found) != numMessages {
		return fmt.Errorf("SEARCH ALL found %d messages, want %d", len(found), numMessages)
	}
	return nil
}

// fetchItems returns the message numbers to fetch, what to fetch, and how
// to check that a result is the message asked for.
func (t *tour) fetchItems() ([]int, string, func(n int, r imaplib2.Result) error) {
	var nums []int
	if t.readOnly { // the newest 20 headers
		for n := max(1, t.exists-19); n <= t.exists; n++ {
			nums = append(nums, n)
		}
		return nums, "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])", func(n int, r imaplib2.Result) error {
			if !strings.HasPrefix(r.Data[0].Text, strconv.Itoa(n)+" (") {
				return fmt.Errorf("FETCH %d returned %q", n, r.Data[0].Text)
			}
			if n == t.exists {
				t.newest = strings.TrimSpace(string(r.Data[0].Literal))
			}
			return nil
		}
	}
	for n := 1; n <= numMessages; n++ {
		nums = append(nums, n)
	}
	return nums, "(BODY.PEEK[])", func(n int, r imaplib2.Result) error {
		if !strings.HasPrefix(r.Data[0].Text, strconv.Itoa(n)+" (") || !bytes.Equal(r.Data[0].Literal, message(n)) {
			return fmt.Errorf("FETCH %d returned %q with a wrong message", n, r.Data[0].Text)
		}
		return nil
	}
}

// fetchParallel issues every FETCH at once, each with an OnDone callback.
func (t *tour) fetchParallel() error {
	nums, items, check := t.fetchItems()
	start := time.Now()
	results := make(chan error, len(nums))
	for _, n := range nums {
		t.m.Fetch(strconv.Itoa(n), items).OnDone(func(r imaplib2.Result, err error) {
			if err == nil {
				err = check(n, r)
			}
			results <- err
		})
	}
	for range nums {
		if err := <-results; err != nil {
			return err
		}
	}
	t.parallel = time.Since(start)
	t.say("FETCH", start, "%d x FETCH n %s in parallel: %d OnDone callbacks, each got its own message", len(nums), items, len(nums))
	if t.newest != "" {
		t.more("newest: %s", t.newest)
	}
	return nil
}

// fetchSerial runs the same FETCHes one at a time, waiting for each.
func (t *tour) fetchSerial() error {
	nums, items, check := t.fetchItems()
	start := time.Now()
	for _, n := range nums {
		r, err := t.m.Fetch(strconv.Itoa(n), items).Wait()
		if err == nil {
			err = check(n, r)
		}
		if err != nil {
			return err
		}
	}
	took := time.Since(start)
	t.say("FETCH", start, "the same %d one at a time (Wait after each)", len(nums))
	t.more("pipelining speed-up: %.1fx (%s vs %s)", float64(took)/float64(t.parallel), ms(t.parallel), ms(took))
	return nil
}

// idleTimeout IDLEs on a real server for idleFor, unless the mailbox
// changes first.
func (t *tour) idleTimeout() error {
	start := time.Now()
	if _, err := t.m.Idle(t.idleFor).Wait(); err != nil {
		return err
	}
	if ex := t.m.Response("EXISTS").Data; ex[0].Text != "" {
		t.say("IDLE", start, "woken by the server: EXISTS %s", ex[len(ex)-1].Text)
	} else {
		t.say("IDLE", start, "ended by its %v timeout: nothing changed", t.idleFor)
	}
	return nil
}

// idleWoken IDLEs until the server reports the message that a second
// connection appends.
func (t *tour) idleWoken() error {
	m2, err := t.dial("second")
	if err != nil {
		return err
	}
	defer m2.Shutdown()
	if _, err := m2.Login(t.user, t.pass).Wait(); err != nil {
		return err
	}
	start := time.Now()
	idle := t.m.Idle(30 * time.Second)
	select {
	case <-t.idling:
	case <-time.After(10 * time.Second):
		return errors.New("the server did not start IDLE")
	}
	time.Sleep(20 * time.Millisecond) // the session registers for updates just after the signal
	t.say("IDLE", start, "the server is idling (timeout 30s)")
	start = time.Now()
	appended := m2.Append("INBOX", `(\Flagged)`, time.Now(), message(numMessages+1))
	if _, err := idle.Wait(); err != nil {
		return err
	}
	ex := t.m.Response("EXISTS").Data
	if ex[0].Text == "" {
		return errors.New("IDLE ended without the server reporting EXISTS")
	}
	t.say("IDLE", start, "woken by \"* %s EXISTS\" after a second connection's APPEND", ex[len(ex)-1].Text)
	if _, err := appended.Wait(); err != nil {
		return err
	}
	_, err = m2.Logout().Wait()
	return err
}

func (t *tour) expunge() error {
	start := time.Now()
	res, err := t.m.Store("2,4,6", "+FLAGS", `\Deleted`).Wait()
	if err != nil {
		return err
	}
	t.say("STORE", start, "+FLAGS (\\Deleted) on 2,4,6: %d FETCH responses, e.g. %s", len(res.Data), res.Data[0].Text)
	start = time.Now()
	if res, err = t.m.Expunge().Wait(); err != nil {
		return err
	}
	var nums []string
	for _, d := range res.Data {
		nums = append(nums, d.Text)
	}
	t.say("EXPUNGE", start, "expunged message numbers, in the order the server sent them: %s", strings.Join(nums, " "))
	return nil
}

func (t *tour) logout() error {
	start := time.Now()
	res, err := t.m.Logout().Wait()
	if err != nil {
		return err
	}
	t.say("LOGOUT", start, "%s %s, state %s", res.Type, res.Data[0].Text, t.m.State())
	return nil
}
