package imaplib2

// Regression tests for defects of the connection engine found at commit
// e1b5c91. Each test asserts the correct behaviour through the public API
// only (plus the transcript harness), so that it survives a rewrite of the
// internals. Where a race has to be forced, a tapConn wraps the client's end
// of the connection and is handed to NewConn.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// defectHang bounds every wait for something that must happen promptly: a
// wait that runs into it is reported as a hang, not as slowness.
const defectHang = 1500 * time.Millisecond

// waitDone waits, bounded by defectHang, for c to complete and returns its
// outcome; a command that does not complete fails the test as a hang.
func waitDone(t *testing.T, c *Command, what string) (Result, error) {
	t.Helper()
	if _, ok := within(c.Done(), defectHang); !ok {
		t.Fatalf("hang: %s did not complete within %v", what, defectHang)
	}
	return c.Wait()
}

// waitDoneOK is waitDone requiring success.
func waitDoneOK(t *testing.T, c *Command, what string) Result {
	t.Helper()
	res, err := waitDone(t, c, what)
	require.NoError(t, err, what)
	return res
}

// shutdownBounded calls m.Shutdown and reports a hang if it does not return
// within d. It returns a channel closed when Shutdown has returned.
func shutdownBounded(t *testing.T, m *IMAP4, d time.Duration) (<-chan struct{}, bool) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Shutdown()
	}()
	select {
	case <-done:
		return done, true
	case <-time.After(d):
		return done, false
	}
}

// A tapConn is the client's end of a connection, wrapped to observe and
// steer what the client does:
//   - it counts Write calls and records reads and writes in order;
//   - holdForPlus: a write it matches does not return until the reader has
//     received a "+" continuation line and has come back for more data;
//   - failAfterClose: a write it matches is delivered, but does not return
//     until the client closes the connection, and then fails (a write that
//     was still in progress when the connection was torn down);
//   - a gate set with closeGate holds every read's data until openGate.
//
// Every wait is bounded by defectHang, so a tapConn itself never hangs a test.
type tapConn struct {
	net.Conn
	holdForPlus    func(p []byte) bool
	failAfterClose func(p []byte) bool
	onWrite        func(p []byte) // called after each write is delivered

	mu       sync.Mutex
	events   []string // "R:" or "W:" and the bytes, in order
	writes   int
	back     chan struct{} // closed when the reader came back after a "+"
	sawPlus  bool
	released int // held writes released by the reader (not by the bound)
	gate     chan struct{}

	closeOnce sync.Once
	closed    chan struct{}
}

func newTap(conn net.Conn) *tapConn {
	return &tapConn{Conn: conn, closed: make(chan struct{})}
}

// isContinuation reports whether data read holds a "+" line.
func isContinuation(b []byte) bool {
	return bytes.HasPrefix(b, []byte("+")) || bytes.Contains(b, []byte("\n+"))
}

func (c *tapConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.back != nil && c.sawPlus {
		close(c.back)
		c.back, c.sawPlus = nil, false
		c.released++
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if n > 0 {
		c.events = append(c.events, "R:"+string(p[:n]))
	}
	if c.back != nil && isContinuation(p[:n]) {
		c.sawPlus = true
	}
	gate := c.gate
	c.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-time.After(defectHang):
		}
	}
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.events = append(c.events, "W:"+string(p))
	var back chan struct{}
	if c.holdForPlus != nil && c.holdForPlus(p) {
		back = make(chan struct{})
		c.back, c.sawPlus = back, false
	}
	failAfterClose := c.failAfterClose != nil && c.failAfterClose(p)
	c.mu.Unlock()
	n, err := c.Conn.Write(p)
	if c.onWrite != nil {
		c.onWrite(p)
	}
	if back != nil {
		select {
		case <-back:
		case <-time.After(defectHang):
			c.mu.Lock()
			if c.back == back {
				c.back, c.sawPlus = nil, false
			}
			c.mu.Unlock()
		}
	}
	if failAfterClose && err == nil {
		select {
		case <-c.closed:
			return n, errors.New("tapConn: connection closed while the write was in progress")
		case <-time.After(defectHang):
		}
	}
	return n, err
}

func (c *tapConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *tapConn) writeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

func (c *tapConn) heldReleased() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.released
}

// closeGate makes reads hold their data until openGate.
func (c *tapConn) closeGate() {
	c.mu.Lock()
	c.gate = make(chan struct{})
	c.mu.Unlock()
}

func (c *tapConn) openGate() {
	c.mu.Lock()
	if c.gate != nil {
		close(c.gate)
		c.gate = nil
	}
	c.mu.Unlock()
}

// eventIndex returns the index of the first event of kind ("R" or "W")
// whose data contains s, or -1.
func (c *tapConn) eventIndex(kind, s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.events {
		if strings.HasPrefix(e, kind+":") && strings.Contains(e[2:], s) {
			return i
		}
	}
	return -1
}

// connectTap is connect over NewConn with the client's end wrapped in tap.
func connectTap(t *testing.T, srv *scriptServer, tap *tapConn, opts *Options) *IMAP4 {
	t.Helper()
	before := runtime.NumGoroutine()
	tap.Conn = srv.Dial(t)
	m, err := NewConn(tap, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if _, ok := shutdownBounded(t, m, 5*time.Second); !ok {
			t.Errorf("hang: Shutdown did not return within 5s")
			return
		}
		srv.Wait()
		assertNoLeak(t, before)
	})
	return m
}

// syncBuffer is a bytes.Buffer safe for the debug log's writes and the
// test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// untaggedTypes returns the types of the groups PopUntaggedResponses gave.
func untaggedTypes(us []Untagged) []string {
	var types []string
	for _, u := range us {
		types = append(types, u.Type)
	}
	return types
}

// TestDefect01FollowUpThenEOF: a command that completes only after a step
// of the client's own (LOGIN and AUTHENTICATE without a CAPABILITY code,
// which need a CAPABILITY command; STARTTLS, which needs the handshake;
// COMPRESS) must complete when the connection ends right after its tagged
// OK, and when the client shuts down meanwhile.
func TestDefect01FollowUpThenEOF(t *testing.T) {
	// The write of the command (or of its last line) is still in progress
	// when the server's OK and EOF arrive and the connection is torn down.
	inFlight := func(s string) func([]byte) bool {
		return func(p []byte) bool { return bytes.Contains(p, []byte(s)) }
	}
	t.Run("LOGIN", func(t *testing.T) {
		srv := newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 LOGIN alice "secret"
S: $1 OK Logged in
!eof
`)
		tap := newTap(nil)
		tap.failAfterClose = inFlight(" LOGIN ")
		m := connectTap(t, srv, tap, nil)
		_, err := waitDone(t, m.Login("alice", "secret"), "LOGIN answered OK, then EOF")
		if err != nil {
			assert.ErrorIs(t, err, ErrAbort)
		}
		_, err = waitDone(t, m.Noop(), "NOOP after EOF")
		assert.ErrorIs(t, err, ErrAbort)
	})
	t.Run("AUTHENTICATE", func(t *testing.T) {
		srv := newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 AUTHENTICATE PLAIN
S: +
C: AGFsaWNlAHNlY3JldA==
S: $1 OK Authenticated
!eof
`)
		tap := newTap(nil)
		tap.failAfterClose = inFlight("AGFsaWNlAHNlY3JldA==")
		m := connectTap(t, srv, tap, nil)
		auth := m.Authenticate("PLAIN", func([]byte) ([]byte, error) { return []byte("\x00alice\x00secret"), nil })
		_, err := waitDone(t, auth, "AUTHENTICATE answered OK, then EOF")
		if err != nil {
			assert.ErrorIs(t, err, ErrAbort)
		}
	})
	t.Run("STARTTLS", func(t *testing.T) {
		srv := newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 STARTTLS] ready
C: $1 STARTTLS
S: $1 OK Begin TLS negotiation now
!eof
`)
		m := connect(t, srv, nil)
		_, err := waitDone(t, m.StartTLS(&tls.Config{RootCAs: srv.CertPool(), ServerName: "localhost"}), "STARTTLS answered OK, then EOF")
		assert.ErrorIs(t, err, ErrAbort, "no TLS session was established")
	})
	t.Run("COMPRESS", func(t *testing.T) {
		srv := newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] ready
C: $1 COMPRESS DEFLATE
S: $1 OK Begin compression
!eof
`)
		m := connect(t, srv, nil)
		errc := make(chan error, 1)
		go func() { errc <- m.EnableCompression() }()
		select {
		case err := <-errc:
			if err != nil {
				assert.ErrorIs(t, err, ErrAbort)
			}
		case <-time.After(defectHang):
			t.Fatalf("hang: EnableCompression did not return within %v", defectHang)
		}
		_, err := waitDone(t, m.Noop(), "NOOP after EOF")
		assert.ErrorIs(t, err, ErrAbort)
	})
	t.Run("LOGIN+Shutdown", func(t *testing.T) {
		srv := newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 LOGIN alice "secret"
S: $1 OK Logged in
C: $2 CAPABILITY
!silent
`)
		asked := make(chan struct{})
		var once sync.Once
		tap := newTap(nil)
		tap.onWrite = func(p []byte) {
			if bytes.Contains(p, []byte(" CAPABILITY\r\n")) {
				once.Do(func() { close(asked) })
			}
		}
		m := connectTap(t, srv, tap, nil)
		login := m.Login("alice", "secret")
		select {
		case <-asked:
		case <-time.After(defectHang):
			t.Fatalf("the client did not ask for the capabilities after LOGIN within %v", defectHang)
		}
		if _, ok := shutdownBounded(t, m, defectHang); !ok {
			t.Fatalf("hang: Shutdown did not return within %v", defectHang)
		}
		_, err := waitDone(t, login, "LOGIN after Shutdown")
		assert.ErrorIs(t, err, ErrAbort)
	})
}

// TestDefect02LongLineBeforeContinuation: a command line over the writer's
// buffer that ends in a synchronising literal, and a long AUTHENTICATE
// answer, must be registered as waiting for "+" before their bytes reach the
// transport: the tapConn makes the write return only once the reader has
// received the server's "+" and come back for more.
func TestDefect02LongLineBeforeContinuation(t *testing.T) {
	t.Run("SEARCH literal", func(t *testing.T) {
		var nums []string
		for i := 1; i <= 1201; i += 2 {
			nums = append(nums, strconv.Itoa(i))
		}
		set := strings.Join(nums, ",")
		require.Greater(t, len(set), 1200)
		srv := newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 SELECT INBOX
S: * 1201 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 UID SEARCH UID `+set+` SUBJECT {7}
S: + go ahead
C: Grüße
S: * SEARCH 5 7
S: $2 OK done
`)
		tap := newTap(nil)
		tap.holdForPlus = func(p []byte) bool { return bytes.HasSuffix(p, []byte("}\r\n")) }
		m := connectTap(t, srv, tap, nil)
		waitDoneOK(t, m.Select("INBOX", false), "SELECT")
		res := waitDoneOK(t, m.UID("SEARCH", "UID", set, "SUBJECT", "Grüße"), "UID SEARCH with a long line and a literal")
		assert.Equal(t, "OK", res.Type)
		assert.Equal(t, []Datum{txt("5 7")}, res.Data)
		t.Logf("held writes released by the reader: %d", tap.heldReleased())
	})
	t.Run("AUTHENTICATE", func(t *testing.T) {
		long := bytes.Repeat([]byte("x"), 1500)
		answer := base64.StdEncoding.EncodeToString(long)
		srv := newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready
C: $1 AUTHENTICATE XOAUTH2
S: +
C: `+answer+`
S: + bW9yZQ==
C: b2s=
S: $1 OK [CAPABILITY IMAP4rev1] done
`)
		tap := newTap(nil)
		tap.holdForPlus = func(p []byte) bool { return len(p) > 1024 && bytes.HasSuffix(p, []byte("\r\n")) }
		m := connectTap(t, srv, tap, nil)
		var challenges []string
		auth := m.Authenticate("XOAUTH2", func(challenge []byte) ([]byte, error) {
			challenges = append(challenges, string(challenge))
			if len(challenges) == 1 {
				return long, nil
			}
			return []byte("ok"), nil
		})
		res := waitDoneOK(t, auth, "AUTHENTICATE with a long answer")
		assert.Equal(t, "OK", res.Type)
		assert.Equal(t, []string{"", "more"}, challenges)
		assert.Equal(t, AUTH, m.State())
		t.Logf("held writes released by the reader: %d", tap.heldReleased())
	})
}

// TestDefect03DeadServerDetected: with a timeout, a server that stops
// answering is detected even while the client keeps sending commands:
// only what the server sends counts as a sign of life.
func TestDefect03DeadServerDetected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	var serverConn net.Conn
	var serverMu sync.Mutex
	go func() { // a server that greets, then reads and never answers
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		serverMu.Lock()
		serverConn = conn
		serverMu.Unlock()
		io.WriteString(conn, "* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n")
		io.Copy(io.Discard, conn)
	}()
	t.Cleanup(func() {
		ln.Close()
		serverMu.Lock()
		if serverConn != nil {
			serverConn.Close()
		}
		serverMu.Unlock()
		<-served
	})
	before := runtime.NumGoroutine()
	m, err := New("127.0.0.1", &Options{Port: ln.Addr().(*net.TCPAddr).Port, Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	stop := make(chan struct{})
	var load sync.WaitGroup
	t.Cleanup(func() {
		if _, ok := shutdownBounded(t, m, 5*time.Second); !ok {
			t.Errorf("hang: Shutdown did not return within 5s")
			return
		}
		assertNoLeak(t, before)
	})
	t.Cleanup(func() { close(stop); load.Wait() })

	first := m.Noop()
	load.Add(1)
	go func() { // load generation: a NOOP every 50 ms
		defer load.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-first.Done():
				return
			case <-tick.C:
				m.Noop()
			}
		}
	}()
	_, err = waitDone(t, first, "the unanswered NOOP (server dead, client busy)")
	require.ErrorIs(t, err, ErrAbort)
	assert.Contains(t, err.Error(), "no response")
}

// TestDefect04ShutdownStreamGrandchild: Shutdown of a NewStream connection
// returns even when a grandchild of the command keeps its standard error
// open.
func TestDefect04ShutdownStreamGrandchild(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "sleep.pid")
	// The sleep holds only stderr (and /dev/null); fd 3 keeps stdout open
	// for cat, which ends when the client closes stdin.
	command := fmt.Sprintf(`sleep 20 >&2 & echo $! >'%s'; exec 3>&1; printf '* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n'; exec cat >/dev/null`, pidFile)
	m, err := NewStream(command, nil)
	require.NoError(t, err)
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err, "the command wrote the grandchild's pid before its greeting")
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // the sleep this test started

	assert.Equal(t, AUTH, m.State())
	done, ok := shutdownBounded(t, m, 5*time.Second)
	if !ok {
		t.Errorf("hang: Shutdown did not return within 5s while a grandchild held stderr open")
		syscall.Kill(pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("Shutdown did not return even after the grandchild was killed")
		}
	}
}

// TestDefect05XatomAuthenticate: AUTHENTICATE sent with Xatom (no
// challenge handler) must not crash on the server's "+"; it completes with
// the server's answer and the connection goes on.
func TestDefect05XatomAuthenticate(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==
S: +
S: $1 NO [AUTHENTICATIONFAILED] Authentication failed
C: $2 NOOP
S: $2 OK done
`), nil)
	res, err := waitDone(t, m.Xatom("AUTHENTICATE", "PLAIN", "AGFsaWNlAHNlY3JldA=="), "Xatom AUTHENTICATE")
	if err != nil {
		assert.ErrorIs(t, err, ErrError)
		assert.NotErrorIs(t, err, ErrAbort)
		assert.Contains(t, err.Error(), "Authentication failed")
	} else {
		assert.Equal(t, "NO", res.Type)
	}
	assert.Equal(t, NONAUTH, m.State())
	waitDoneOK(t, m.Noop(), "NOOP after the refused AUTHENTICATE")
}

// TestDefect06IdleDataBeforeContinuation: server data that arrives after
// IDLE is sent but before the server's "+" ends the IDLE at once.
func TestDefect06IdleDataBeforeContinuation(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 IDLE] ready
C: $1 IDLE
S: * 4 EXISTS
S: + idling
C: DONE
S: $1 OK IDLE terminated
`), nil)
	res := waitDoneOK(t, m.Idle(10*time.Second), "IDLE with data before its continuation")
	assert.Equal(t, "OK", res.Type)
	assert.Equal(t, []Datum{txt("4")}, m.Response("EXISTS").Data)
}

// TestDefect07UIDFetchStarBelowRange: "10:*" includes the last message even
// when its UID is below 10 (RFC 3501 6.4.8), so UID FETCH 10:* keeps a FETCH
// of UID 7.
func TestDefect07UIDFetchStarBelowRange(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 SELECT INBOX
S: * 3 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 UID FETCH 10:* (FLAGS)
S: * 3 FETCH (UID 7 FLAGS (\Seen))
S: $2 OK done
`), nil)
	waitDoneOK(t, m.Select("INBOX", false), "SELECT")
	res := waitDoneOK(t, m.UID("FETCH", "10:*", "(FLAGS)"), "UID FETCH 10:*")
	assert.Equal(t, []Datum{txt(`3 (UID 7 FLAGS (\Seen))`)}, res.Data)
	assert.NotContains(t, untaggedTypes(m.PopUntaggedResponses()), "FETCH", "the FETCH is the command's, not unsolicited")
}

// TestDefect08StoredResponseLimit: only unsolicited entries count against
// MaxStoredResponses, and beyond it the oldest unsolicited entry of any
// type makes room.
func TestDefect08StoredResponseLimit(t *testing.T) {
	t.Run("owned data does not count", func(t *testing.T) {
		var fetches strings.Builder
		for i := 1; i <= 10; i++ {
			if i == 6 {
				fetches.WriteString("S: * 11 EXISTS\n")
			}
			fmt.Fprintf(&fetches, "S: * %d FETCH (FLAGS ())\n", i)
		}
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 SELECT INBOX
S: $1 OK done
C: $2 FETCH 1:10 (FLAGS)
`+fetches.String()+`
S: $2 OK done
`), &Options{MaxStoredResponses: 5})
		waitDoneOK(t, m.Select("INBOX", false), "SELECT")
		res := waitDoneOK(t, m.Fetch("1:10", "(FLAGS)"), "FETCH 1:10")
		var want []Datum
		for i := 1; i <= 10; i++ {
			want = append(want, txt(fmt.Sprintf("%d (FLAGS ())", i)))
		}
		assert.Equal(t, want, res.Data)
		assert.Equal(t, []Datum{txt("11")}, m.Response("EXISTS").Data, "the EXISTS is not dropped")
	})
	t.Run("oldest of any type dropped", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
S: * 1 EXISTS
S: * 1 RECENT
S: * 2 EXISTS
S: * 2 RECENT
S: $1 OK done
`), &Options{MaxStoredResponses: 3})
		waitDoneOK(t, m.Noop(), "NOOP")
		assert.Equal(t, []Untagged{
			{Type: "RECENT", Data: []Datum{txt("1")}},
			{Type: "EXISTS", Data: []Datum{txt("2")}},
			{Type: "RECENT", Data: []Datum{txt("2")}},
		}, m.PopUntaggedResponses())
	})
}

// TestDefect09EnableThenCreate: a command issued right after ENABLE
// UTF8=ACCEPT, before it completed, is encoded by the rules in force when it
// is sent: its mailbox name goes as quoted UTF-8.
func TestDefect09EnableThenCreate(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] ready
C: $1 ENABLE UTF8=ACCEPT
S: * ENABLED UTF8=ACCEPT
S: $1 OK enabled
C: $2 CREATE "Entwürfe"
S: $2 OK created
`), nil)
	enable := m.Enable("UTF8=ACCEPT")
	create := m.Create("Entwürfe")
	waitDoneOK(t, enable, "ENABLE")
	waitDoneOK(t, create, "CREATE")
}

// TestDefect10StatusTextEndingInBraces: status text that ends like a
// literal announcement ("{2021}") is text, not a literal.
func TestDefect10StatusTextEndingInBraces(t *testing.T) {
	t.Run("tagged", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 CREATE 2021
S: $1 NO [CANNOT] no such year {2021}
C: $2 NOOP
S: $2 OK done
`), nil)
		res := waitDoneOK(t, m.Create("2021"), "CREATE")
		assert.Equal(t, "NO", res.Type)
		assert.Equal(t, []Datum{txt("[CANNOT] no such year {2021}")}, res.Data)
		waitDoneOK(t, m.Noop(), "NOOP")
	})
	t.Run("untagged", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
S: * OK [ALERT] disk almost full {20}
S: * 5 EXISTS
S: $1 OK done
C: $2 NOOP
S: $2 OK done
`), nil)
		waitDoneOK(t, m.Noop(), "NOOP with an ALERT ending in {20}")
		u := m.PopUntaggedResponses()
		assert.Contains(t, u, Untagged{Type: "OK", Data: []Datum{txt("[ALERT] disk almost full {20}")}})
		assert.Contains(t, u, Untagged{Type: "EXISTS", Data: []Datum{txt("5")}})
		assert.Contains(t, untaggedTypes(u), "ALERT")
		waitDoneOK(t, m.Noop(), "NOOP")
	})
}

// TestDefect11CompressedCommandOneWrite: under COMPRESS, each command
// reaches the transport in one Write (deflate data and sync-flush marker
// together).
func TestDefect11CompressedCommandOneWrite(t *testing.T) {
	srv := newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] ready
C: $1 COMPRESS DEFLATE
S: $1 OK Begin compression
!compress
C: $2 NOOP
S: $2 OK done
C: $3 NOOP
S: $3 OK done
`)
	tap := newTap(nil)
	m := connectTap(t, srv, tap, nil)
	require.NoError(t, m.EnableCompression())
	for i := 0; i < 2; i++ {
		before := tap.writeCount()
		waitDoneOK(t, m.Noop(), "compressed NOOP")
		assert.Equal(t, 1, tap.writeCount()-before, "Write calls for one compressed NOOP")
	}
}

// TestDefect12GarbageLineIgnored: a line that is neither tagged, untagged
// nor a continuation is ignored.
func TestDefect12GarbageLineIgnored(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
S: this is not an IMAP response
S: $1 OK done
C: $2 NOOP
S: $2 OK done
`), nil)
	waitDoneOK(t, m.Noop(), "NOOP with a garbage line")
	waitDoneOK(t, m.Noop(), "NOOP after the garbage line")
}

// TestDefect13SearchSeveralResponses: the only SEARCH pending collects
// every SEARCH response.
func TestDefect13SearchSeveralResponses(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 SELECT INBOX
S: * 3 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 SEARCH ALL
S: * SEARCH 1 2
S: * SEARCH 3
S: $2 OK done
`), nil)
	waitDoneOK(t, m.Select("INBOX", false), "SELECT")
	res := waitDoneOK(t, m.Search("", "ALL"), "SEARCH")
	assert.Equal(t, []Datum{txt("1 2"), txt("3")}, res.Data)
}

// TestDefect14StartTLSNotOffered: StartTLS when the server does not offer
// STARTTLS fails with ErrAbort and sends nothing.
func TestDefect14StartTLSNotOffered(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 NOOP
S: $1 OK done
`), nil)
	c := m.StartTLS(nil)
	_, err := waitDone(t, c, "STARTTLS not offered")
	assert.ErrorIs(t, err, ErrAbort)
	assert.Equal(t, "", c.Tag(), "nothing sent")
	waitDoneOK(t, m.Noop(), "NOOP")
}

// TestDefect15DebugWireLines: at debug level 4 every line is logged as it
// was on the wire, in full; passwords are not.
func TestDefect15DebugWireLines(t *testing.T) {
	long := strings.Repeat("0123456789", 30)
	fetchLine := `* 3 FETCH (FLAGS (\Seen) UID 42 X-LONG "` + long + `")`
	var log syncBuffer
	m := connect(t, newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 LOGIN alice "sekrit-pw"
S: $1 OK [CAPABILITY IMAP4rev1] Logged in
C: $2 SELECT INBOX
S: * 3 EXISTS
S: $2 OK [READ-WRITE] done
C: $3 FETCH 3 (FLAGS UID X-LONG)
S: `+fetchLine+`
S: $3 OK fetched
`), &Options{Debug: 4, DebugWriter: &log})
	waitDoneOK(t, m.Login("alice", "sekrit-pw"), "LOGIN")
	waitDoneOK(t, m.Select("INBOX", false), "SELECT")
	fetch := m.Fetch("3", "(FLAGS UID X-LONG)")
	waitDoneOK(t, fetch, "FETCH")
	out := log.String()
	assert.Contains(t, out, fetchLine, "the untagged line in full")
	assert.Contains(t, out, "* 3 EXISTS")
	assert.Contains(t, out, fetch.Tag()+" FETCH 3 (FLAGS UID X-LONG)", "the sent line")
	assert.Contains(t, out, fetch.Tag()+" OK fetched", "the tagged line")
	assert.NotContains(t, out, "sekrit", "the password")
	if t.Failed() {
		t.Logf("debug output:\n%s", out)
	}
}

// TestDefect16UnkeyedCommandsNotPipelined: a SEARCH (or LIST), whose data
// carries nothing to tell whose it is, is not sent while an earlier command
// collecting the same type is pending; keyed FETCHes still pipeline.
func TestDefect16UnkeyedCommandsNotPipelined(t *testing.T) {
	srv := newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 SELECT INBOX
S: * 5 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 SEARCH ALL
S: * SEARCH 1 2 3
S: * SEARCH 4 5
S: $2 OK done
C: $3 SEARCH DELETED
S: * SEARCH 2
S: $3 OK done
C: $4 LIST "" "*"
S: * LIST () "/" INBOX
S: * LIST () "/" Sent
S: $4 OK done
C: $5 LIST "" "S*"
S: * LIST () "/" Sent
S: $5 OK done
C: $6 FETCH 1 (FLAGS)
C: $7 FETCH 2 (FLAGS)
S: * 1 FETCH (FLAGS ())
S: * 2 FETCH (FLAGS (\Seen))
S: $6 OK done
S: $7 OK done
`)
	tap := newTap(nil)
	m := connectTap(t, srv, tap, nil)
	waitDoneOK(t, m.Select("INBOX", false), "SELECT")

	// The server's answers are held back until both commands are issued,
	// so a client that pipelines them certainly has sent both by then.
	tap.closeGate()
	all, deleted := m.Search("", "ALL"), m.Search("", "DELETED")
	tap.openGate()
	assert.Equal(t, []Datum{txt("1 2 3"), txt("4 5")}, waitDoneOK(t, all, "SEARCH ALL").Data)
	assert.Equal(t, []Datum{txt("2")}, waitDoneOK(t, deleted, "SEARCH DELETED").Data)
	firstDone, secondSent := tap.eventIndex("R", all.Tag()+" OK"), tap.eventIndex("W", "SEARCH DELETED")
	assert.Greater(t, secondSent, firstDone, "the second SEARCH was sent before the first completed")

	tap.closeGate()
	every, some := m.List(`""`, "*"), m.List(`""`, "S*")
	tap.openGate()
	assert.Equal(t, []Datum{txt(`() "/" INBOX`), txt(`() "/" Sent`)}, waitDoneOK(t, every, "LIST *").Data)
	assert.Equal(t, []Datum{txt(`() "/" Sent`)}, waitDoneOK(t, some, "LIST S*").Data)
	firstDone, secondSent = tap.eventIndex("R", every.Tag()+" OK"), tap.eventIndex("W", `LIST "" "S*"`)
	assert.Greater(t, secondSent, firstDone, "the second LIST was sent before the first completed")

	// The script answers only once both FETCHes have arrived.
	one, two := m.Fetch("1", "(FLAGS)"), m.Fetch("2", "(FLAGS)")
	assert.Equal(t, []Datum{txt("1 (FLAGS ())")}, waitDoneOK(t, one, "FETCH 1").Data)
	assert.Equal(t, []Datum{txt(`2 (FLAGS (\Seen))`)}, waitDoneOK(t, two, "FETCH 2").Data)
}

// TestDefect17UIDStoreFetchWithoutUID: a FETCH without UID that answers the
// only pending UID STORE (GNU imap4d) belongs to that command.
func TestDefect17UIDStoreFetchWithoutUID(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 SELECT INBOX
S: * 5 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 UID STORE 5 +FLAGS (\Seen)
S: * 2 FETCH (FLAGS (\Seen))
S: $2 OK done
`), nil)
	waitDoneOK(t, m.Select("INBOX", false), "SELECT")
	res := waitDoneOK(t, m.UID("STORE", "5", "+FLAGS", `(\Seen)`), "UID STORE")
	assert.Equal(t, []Datum{txt(`2 (FLAGS (\Seen))`)}, res.Data)
	assert.NotContains(t, untaggedTypes(m.PopUntaggedResponses()), "FETCH", "the FETCH is the command's, not unsolicited")
}

// TestAuthenticateChallengeThenNO: a server that sends a challenge and its
// tagged NO back to back, without waiting for the answer: the writer
// records the challenge while the reader completes the command; under the
// race detector this proves they are ordered. Whether the client still
// answers the challenge depends on which it sees first, so the server
// accepts both.
func TestAuthenticateChallengeThenNO(t *testing.T) {
	port := serveOne(t, nil, func(conn net.Conn) {
		r := bufio.NewReader(conn)
		io.WriteString(conn, "* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready\r\n")
		tag := readTag(r)
		io.WriteString(conn, "+ \r\n")
		r.ReadString('\n') // the initial response
		io.WriteString(conn, "+ eyJzdGF0dXMiOiI0MDAifQ==\r\n"+tag+" NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if next, _, _ := strings.Cut(line, " "); strings.TrimSpace(line) != "" {
				io.WriteString(conn, next+" OK done\r\n")
			}
		}
	})
	m, err := New("127.0.0.1", &Options{Port: port})
	require.NoError(t, err)
	defer m.Shutdown()
	_, err = waitResult(t, m.Authenticate("XOAUTH2", SASLXOAuth2("alice", "token")))
	require.ErrorIs(t, err, ErrError)
	require.NotErrorIs(t, err, ErrAbort)
	wait(t, m.Noop())
}

// TestFetchLiteralAsItemName: a FETCH response with a literal where an
// item's name belongs (found by FuzzParseMessage) is an error for the
// parser, and on the wire, where the reader looks for the UID to route
// it, it neither crashes nor stops the connection.
func TestFetchLiteralAsItemName(t *testing.T) {
	_, err := ParseMessage([]Datum{{Text: "1 ({3}", Literal: []byte("UID")}, {Text: " 5)"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a literal")

	m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 SELECT INBOX
S: * 3 EXISTS
S: $1 OK [READ-WRITE] done
C: $2 UID FETCH 5 (FLAGS)
C: $3 UID FETCH 6 (FLAGS)
S: * 1 FETCH ({3}
S~ UID 5 FLAGS ())\r\n
S: * 2 FETCH (UID 6 FLAGS ())
S: $2 OK done
S: $3 OK done
`), nil)
	wait(t, m.Select("INBOX", false))
	a, b := m.UID("FETCH", "5", "(FLAGS)"), m.UID("FETCH", "6", "(FLAGS)")
	wait(t, a)
	assert.Equal(t, []string{"2 (UID 6 FLAGS ())"}, texts(wait(t, b).Data))
}

// A login whose OK names no capabilities is followed by a CAPABILITY
// command that the writer sends ahead of the queue and waits for. With a
// command queued behind the login, it must still go out at once.
func TestFollowUpCapabilityWithQueuedCommand(t *testing.T) {
	m := connect(t, newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 LOGIN alice "secret"
S: $1 OK Logged in
C: $2 CAPABILITY
S: * CAPABILITY IMAP4rev1 IDLE
S: $2 OK done
C: $3 NOOP
S: $3 OK done
`), nil)
	login := m.Login("alice", "secret")
	noop := m.Noop() // queued: LOGIN runs alone
	waitDoneOK(t, login, "LOGIN without a CAPABILITY code, with a command queued")
	waitDoneOK(t, noop, "NOOP queued behind LOGIN")
	assert.Contains(t, m.Capabilities(), "IDLE")
}
