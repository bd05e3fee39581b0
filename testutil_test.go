package imaplib2

// The helpers every test file of the package shares:
//
//   - connections to the fake server: connect and session run the library
//     against a scriptServer (transcript_test.go), the one fake-server
//     harness; serveOne is the listener of the few fake servers that a
//     transcript cannot express;
//   - waits: wait, waitResult, waitOK, waitFails, waitAborts and the rest
//     bound every wait for a command or a signal by waitLimit, so that a
//     hang fails the test with the command's name and tag instead of
//     stalling the test binary until go test's -timeout;
//   - the goroutine-leak checker: checkLeaks, leakBaseline and assertNoLeak;
//   - data: texts, txt and lit.

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// Connections

// connect opens a connection to a transcript server and makes sure that,
// when the test ends, the script ran to its end and every goroutine the
// connection started has ended.
func connect(t *testing.T, srv *scriptServer, opts *Options) *IMAP4 {
	t.Helper()
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Port = srv.Port()
	leaks := newLeakBaseline()
	m, err := New(srv.Host(), &o)
	require.NoError(t, err)
	t.Cleanup(func() {
		m.Shutdown()
		srv.Wait()
		leaks.check(t)
	})
	return m
}

// session loads testdata/file and connects to it.
func session(t *testing.T, file string, opts *Options) *IMAP4 {
	t.Helper()
	return connect(t, loadScript(t, file), opts)
}

// serveOne is the fake server for what a transcript cannot express: a
// flood, a connection reset, a server that answers whatever comes in any
// number, a TLS handshake with a certificate of the test's making. It
// listens on 127.0.0.1 (with TLS if config is not nil), accepts one
// connection in a goroutine and runs serve on it, closing the connection
// when serve returns. When t ends it closes the listener and the
// connection and waits for the goroutine. It returns the port.
func serveOne(t testing.TB, config *tls.Config, serve func(conn net.Conn)) (port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port = ln.Addr().(*net.TCPAddr).Port
	if config != nil {
		ln = tls.NewListener(ln, config)
	}
	var (
		mu     sync.Mutex
		conn   net.Conn
		ending bool
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		mu.Lock()
		conn = c
		ended := ending
		mu.Unlock()
		if !ended {
			serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		ending = true
		if conn != nil {
			conn.Close()
		}
		mu.Unlock()
		<-done
	})
	return port
}

// rawServer is a serveOne server that greets with PREAUTH and hands the
// connection to serve, for faults a transcript cannot express (floods,
// resets, any number of commands).
func rawServer(t testing.TB, serve func(conn net.Conn, r *bufio.Reader)) (port int) {
	t.Helper()
	return serveOne(t, nil, func(conn net.Conn) {
		io.WriteString(conn, "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
		serve(conn, bufio.NewReader(conn))
	})
}

// readTag reads one command line and returns its tag.
func readTag(r *bufio.Reader) string {
	line, _ := r.ReadString('\n')
	tag, _, _ := strings.Cut(line, " ")
	return tag
}

// ---------------------------------------------------------------------------
// Waits

// waitLimit bounds every wait of the tests for a command or a signal. It is
// generous, for Dovecot under the race detector: it is there to turn a hang
// into a failure that says what hung, not to time anything.
const waitLimit = 2 * time.Minute

// waitResult waits, at most waitLimit, for c and returns its outcome,
// whatever it is.
func waitResult(t testing.TB, c *Command) (Result, error) {
	t.Helper()
	return waitWithin(t, c, waitLimit)
}

// waitWithin is waitResult with another limit.
func waitWithin(t testing.TB, c *Command, limit time.Duration) (Result, error) {
	t.Helper()
	if _, ok := within(c.Done(), limit); !ok {
		t.Fatalf("command %s (tag %q) did not complete within %v", c.name, c.Tag(), limit)
	}
	return c.Wait()
}

// wait waits for c and requires success: no error, whatever the Result's
// Type (a tagged NO is a Result).
func wait(t *testing.T, c *Command) Result {
	t.Helper()
	res, err := waitResult(t, c)
	require.NoError(t, err, "%s", c.name)
	return res
}

// waitOK waits for c and requires a tagged OK.
func waitOK(t testing.TB, c *Command) Result {
	t.Helper()
	res, err := waitResult(t, c)
	require.NoError(t, err, "%s", c.name)
	require.Equal(t, "OK", res.Type, "%s: %v", c.name, res.Data)
	require.NotEmpty(t, res.Data, "%s: Data always has an element", c.name)
	return res
}

// waitFails waits for c and requires an error of class ErrError that is
// not an abort: the connection stays usable. It returns the error.
func waitFails(t testing.TB, c *Command) error {
	t.Helper()
	_, err := waitResult(t, c)
	require.Error(t, err, "%s must fail", c.name)
	require.ErrorIs(t, err, ErrError, "%s", c.name)
	require.NotErrorIs(t, err, ErrAbort, "%s: %v", c.name, err)
	return err
}

// waitAborts waits for c and requires an error of class ErrAbort: the
// connection has ended. It returns the error.
func waitAborts(t testing.TB, c *Command) error {
	t.Helper()
	_, err := waitResult(t, c)
	require.ErrorIs(t, err, ErrAbort, "%s", c.name)
	return err
}

// receive waits, at most waitLimit, for a value from ch (or for ch to be
// closed); what says what the test waits for.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	v, ok := within(ch, waitLimit)
	if !ok {
		t.Fatalf("gave up after %v waiting for %s", waitLimit, what)
	}
	return v
}

// within receives from ch unless limit passes first.
func within[T any](ch <-chan T, limit time.Duration) (v T, ok bool) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case v = <-ch:
		return v, true
	case <-timer.C:
		return v, false
	}
}

// isDone reports, without waiting, whether ch is closed (or holds a value).
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitIdling waits until the server has accepted c, an IDLE, with its "+",
// or c has completed. The library records the "+" and signals nothing, so
// this polls.
func waitIdling(t testing.TB, m *IMAP4, c *Command) {
	t.Helper()
	idling := func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.idle == c && m.idleState == idleActive || isDone(c.Done())
	}
	if !poll(waitLimit, idling) {
		t.Fatalf("the server did not accept IDLE (tag %q) within %v", c.Tag(), waitLimit)
	}
}

// waitStopped requires that the connection's reader and writer goroutines
// end (the callback goroutine is left to the leak checker).
func waitStopped(t testing.TB, m *IMAP4) {
	t.Helper()
	receive(t, m.done, "the connection's reader and writer to stop")
}

// ---------------------------------------------------------------------------
// Goroutine leaks

// The leak checker. A connection runs goroutines (reader, writer,
// callbacks, a stream's process goroutines) that end asynchronously after
// Shutdown or Logout has returned, so the checker polls, at most leakWait,
// before it reports a leak with the stacks of the goroutines left.
//
// It is exact even while other tests run in parallel (TestDovecot's
// subtests do), which runtime.NumGoroutine is not: it cannot tell one
// test's goroutines from another's. The checker reads the goroutine dump
// instead, where each goroutine's "created by ... in goroutine N" line
// names its parent. A leakBaseline records the goroutine that takes it (the
// test's) and the goroutines alive at that moment; check then fails on any
// goroutine started since, still alive, that
//
//   - the test's goroutine started, directly or through goroutines it
//     started (say a connection's reader, which starts the callback
//     goroutine, or a server's accept loop, which starts one goroutine a
//     connection), or
//   - runs library code and whose creator has ended (say a callback
//     goroutine whose reader has exited, or a goroutine started by a
//     helper goroutine of the test that has returned): it can no longer be
//     traced to a test.
//
// Use:
//
//   - checkLeaks(t) first thing in a test: checked when the test ends,
//     after the cleanups registered later (connections shut down, servers
//     closed);
//   - leaks := newLeakBaseline() ... leaks.check(t) around part of a test
//     (connect does this for its connection);
//   - assertNoLeak(t, before) for a caller that has only a goroutine count.

// leakWait bounds the wait for goroutines to end once they should have.
const leakWait = 5 * time.Second

// checkLeaks checks, when t ends, that every goroutine started since the
// call by t's goroutine (or by goroutines it started) has ended, and that
// no library goroutine started since has been orphaned. Call it before
// anything that registers a cleanup, so that its cleanup runs last.
func checkLeaks(t testing.TB) {
	leaks := newLeakBaseline()
	t.Cleanup(func() { leaks.check(t) })
}

// assertNoLeak waits, at most leakWait, for the goroutine count to fall
// back to before, taken with runtime.NumGoroutine before the goroutines
// under test were started. A count cannot tell tests apart: it is exact
// only while no other test runs in parallel. Prefer checkLeaks or
// newLeakBaseline.
func assertNoLeak(t *testing.T, before int) {
	t.Helper()
	if !poll(leakWait, func() bool { return runtime.NumGoroutine() <= before }) {
		t.Errorf("goroutines leaked: %d > %d\n\n%s", runtime.NumGoroutine(), before, allStacks())
	}
}

// A leakBaseline is where the leak checker starts counting: the goroutine
// that took it and the goroutines alive then.
type leakBaseline struct {
	root  int64
	known map[int64]bool
}

// newLeakBaseline takes a baseline for the calling goroutine.
func newLeakBaseline() leakBaseline {
	b := leakBaseline{root: goroutineID(), known: map[int64]bool{}}
	for id := range goroutineDump() {
		b.known[id] = true
	}
	return b
}

// check fails t (Errorf) if goroutines started since b are left; see the
// leak checker's comment above.
func (b leakBaseline) check(t testing.TB) {
	t.Helper()
	var left []string
	poll(leakWait, func() bool {
		left = b.left()
		return len(left) == 0
	})
	if len(left) > 0 {
		t.Errorf("%d goroutine(s) started by this test are still running:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// left returns the stacks of the goroutines that check reports.
func (b leakBaseline) left() []string {
	all := goroutineDump()
	mine := map[int64]bool{b.root: true}
	for changed := true; changed; {
		changed = false
		for id, g := range all {
			if mine[g.parent] && !mine[id] {
				mine[id], changed = true, true
			}
		}
	}
	var left []string
	for id, g := range all {
		if id == b.root || b.known[id] {
			continue
		}
		_, parentAlive := all[g.parent]
		orphan := !parentAlive && g.parent != b.root && runsLibraryCode(g.stack)
		if mine[id] || orphan {
			left = append(left, g.stack)
		}
	}
	return left
}

// waitSelecting waits until some goroutine is blocked in a select
// statement of function (such as
// "github.com/emersion/go-imap/v2/imapserver.(*SessionTracker).Idle"), for
// a state that nothing signals.
func waitSelecting(t testing.TB, function string) {
	t.Helper()
	selecting := func() bool {
		for _, g := range goroutineDump() {
			if g.state == "select" && strings.HasPrefix(g.top, function+"(") {
				return true
			}
		}
		return false
	}
	if !poll(waitLimit, selecting) {
		t.Fatalf("no goroutine blocked in a select of %s within %v", function, waitLimit)
	}
}

// poll calls cond until it returns true or limit has passed, and reports
// whether it returned true. Goroutines end, and block, without signalling
// anyone: the leak checker and the waits for such states poll, backing off
// from a millisecond to 20.
func poll(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for delay := time.Millisecond; ; delay = min(2*delay, 20*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(delay)
	}
}

// A goroutine is one entry of the goroutine dump.
type goroutine struct {
	parent int64  // the creator's id; 0 if none is named
	state  string // such as "select" or "chan receive"
	top    string // the innermost frame's function line
	stack  string // the whole entry
}

var (
	// packageDir is the directory of this package's source files.
	packageDir = func() string {
		_, file, _, _ := runtime.Caller(0)
		return filepath.Dir(file)
	}()
	stackFileRE       = regexp.MustCompile(`(?m)^\t(\S+\.go):\d+`)
	goroutineHeaderRE = regexp.MustCompile(`^goroutine (\d+) [^\[\n]*\[([^\],]*)[^\]]*\]:\n(.*)`)
	goroutineParentRE = regexp.MustCompile(`(?m)^created by .* in goroutine (\d+)$`)
)

// goroutineDump returns the live goroutines by id.
func goroutineDump() map[int64]goroutine {
	all := map[int64]goroutine{}
	for _, block := range strings.Split(allStacks(), "\n\n") {
		h := goroutineHeaderRE.FindStringSubmatch(block)
		if h == nil {
			continue
		}
		id, _ := strconv.ParseInt(h[1], 10, 64)
		g := goroutine{state: h[2], top: h[3], stack: block}
		if p := goroutineParentRE.FindStringSubmatch(block); p != nil {
			g.parent, _ = strconv.ParseInt(p[1], 10, 64)
		}
		all[id] = g
	}
	return all
}

// allStacks returns the stacks of all goroutines.
func allStacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// goroutineID returns the id of the calling goroutine.
func goroutineID() int64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, err := strconv.ParseInt(strings.Fields(string(buf))[1], 10, 64)
	if err != nil {
		panic(fmt.Sprintf("cannot parse the goroutine id from %q", buf))
	}
	return id
}

// runsLibraryCode reports whether a goroutine's stack has a frame in a
// non-test source file of this package.
func runsLibraryCode(stack string) bool {
	for _, m := range stackFileRE.FindAllStringSubmatch(stack, -1) {
		if filepath.Dir(m[1]) == packageDir && !strings.HasSuffix(m[1], "_test.go") {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Data

// texts returns the Text of each Datum.
func texts(data []Datum) []string {
	var s []string
	for _, d := range data {
		s = append(s, d.Text)
	}
	return s
}

func lit(text, literal string) Datum { return Datum{Text: text, Literal: []byte(literal)} }
func txt(text string) Datum          { return Datum{Text: text} }
