// Package imaplib2 is an IMAP4rev1 client (RFC 3501, with IMAP4rev2 servers
// accepted) modelled on Python's imaplib2: many commands run in parallel over
// one connection, and each command's result is delivered synchronously or to
// a callback.
//
// # The model
//
// An IMAP4 is one connection. It owns up to three goroutines: a reader that
// parses every server response and routes it (for the whole life of the
// connection), a writer that sends commands in the order they were issued
// (while there are commands to send or an IDLE to end), and a callback
// goroutine that runs OnDone callbacks one at a time (while there are
// callbacks to run). An idle connection, even one in IDLE, costs one
// goroutine.
//
// Every command method (Select, Fetch, Search, ...) returns a *Command at
// once, without waiting for the server. Read its outcome in whichever way
// suits the caller:
//
//	res, err := m.Select("INBOX", false).Wait()          // synchronous
//	cmd := m.Fetch("1", "(RFC822)"); <-cmd.Done()          // channels
//	m.Fetch("2", "(RFC822)").OnDone(func(r imaplib2.Result, err error) { ... })
//
// Commands issued from any number of goroutines are pipelined on the wire.
// State-changing commands (SELECT, LOGIN, APPEND, IDLE, ... see IMAP4) wait
// until all earlier commands have completed and hold back later ones until
// they complete themselves.
//
// # Results
//
// A Result holds the status ("OK" or "NO") and the data the command
// collected, as imaplib2 returns it: a list of Datum, each a line of text or
// a text with a literal. FETCH 1 (RFC822) gives
//
//	[{Text: "1 (RFC822 {12}", Literal: <12 bytes>}, {Text: ")"}]
//
// A command collects the untagged responses of its kind that arrive while it
// runs (FETCH data of the messages it asked for, SEARCH results, ...). Other
// untagged data stays available through Response, Recent and
// PopUntaggedResponses.
//
// # Errors
//
// Errors match ErrError, ErrAbort or ErrReadonly with errors.Is, mirroring
// imaplib2's error, abort and readonly exceptions. When the connection
// fails, every waiting command completes with an ErrAbort error.
//
// # Lifetime
//
// Call Logout (or Shutdown) when done: when it returns, the reader and
// writer goroutines have stopped; the goroutine that runs OnDone callbacks
// ends once it has run those still queued (of the commands the shutdown
// completed), and is not waited for, so that a callback may call Shutdown.
package imaplib2

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The states of a connection, as State reports them.
const (
	NONAUTH  = "NONAUTH"  // connected, not yet authenticated
	AUTH     = "AUTH"     // authenticated, no mailbox selected
	SELECTED = "SELECTED" // a mailbox is selected
	LOGOUT   = "LOGOUT"   // logged out or disconnected; no more commands
)

// Default ports.
const (
	IMAP4Port    = 143 // IMAP over plain TCP (New)
	IMAP4SSLPort = 993 // IMAP over implicit TLS (NewSSL)
)

// Defaults of the limits in Options.
const (
	DefaultMaxLiteralSize = 256 << 20 // 256 MiB
	DefaultMaxLineSize    = 64 << 20  // 64 MiB
	DefaultIdleTimeout    = 29 * time.Minute

	DefaultMaxStoredResponses = 100000
)

// Options configures a connection. The zero value (or a nil *Options) is
// ready to use.
type Options struct {
	// Port is the server's port; 0 means 143, or 993 for NewSSL.
	Port int
	// Timeout is imaplib2's timeout: when the server sends nothing for this
	// long while a command is outstanding (and no IDLE is active), the
	// connection is aborted. It also limits dialing and the TLS handshake.
	// 0 means no timeout.
	Timeout time.Duration
	// Debug is imaplib2's debug level: 0 is quiet, 1 logs state changes and
	// commands, 2 IDLE, 3 untagged responses, 4 every line on the wire.
	Debug int
	// DebugWriter receives the debug output; nil means os.Stderr.
	DebugWriter io.Writer
	// DebugBufLvl is imaplib2's debug_buf_lvl (0 means 3): at a Debug level
	// up to it, lines above level 1 are kept in a ring of the last 20 and
	// written only when something fails.
	DebugBufLvl int
	// Identifier prefixes every debug line; "" means the host.
	Identifier string
	// TLSConfig configures NewSSL and StartTLS; nil verifies the server's
	// certificate against the system roots for the host name.
	TLSConfig *tls.Config
	// TLSLevel is imaplib2's tls_level: "tls_secure" (the default: TLS 1.2
	// and later), "tls_no_ssl" or "tls_compat" (TLS 1.0 and later).
	TLSLevel string
	// DialContext dials the server for New and NewSSL; nil uses a
	// net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxLiteralSize is the largest literal accepted from the server; a
	// larger one aborts the connection before anything is allocated.
	// 0 means DefaultMaxLiteralSize.
	MaxLiteralSize int64
	// MaxLineSize is the longest response line accepted; 0 means
	// DefaultMaxLineSize.
	MaxLineSize int
	// MaxStoredResponses bounds the untagged responses that no command
	// collected, kept for Response and PopUntaggedResponses: beyond it,
	// the oldest is dropped for each new one. Data that a command collects
	// is never dropped and does not count. 0 means
	// DefaultMaxStoredResponses.
	MaxStoredResponses int
	// Unsolicited, if set, is called with every untagged response that no
	// command collects (EXISTS, EXPUNGE, FETCH of flag changes, VANISHED,
	// RECENT, OK/NO/BAD/BYE with their codes, NOTIFY's events, ...), in
	// arrival order, on the connection's callback goroutine, where OnDone
	// callbacks run too: a response that arrived before a command's tagged
	// reply reaches Unsolicited before that command's callbacks, and it may
	// issue commands and Wait for them. The response is also stored for
	// Response and PopUntaggedResponses. Type it with, for example,
	// Result{Type: "OK", Data: u.Data}.Messages().
	Unsolicited func(u Untagged)
	// Logger, if set, receives the debug output instead of DebugWriter:
	// each line that Debug allows is a record at slog.LevelDebug with the
	// attributes conn (the Identifier), dir ("C" for what the client sent,
	// "S" for what the server sent; absent for the library's own events)
	// and tag (where there is one). Secrets are redacted as in the text
	// form. Its handler may be called while the connection holds its
	// locks: it must not call methods of the connection.
	Logger *slog.Logger
}

// IMAP4 is a connection to an IMAP server (imaplib2's IMAP4 object). Its
// methods are safe for concurrent use.
//
// The state-changing commands, which run alone, are APPEND, AUTHENTICATE,
// CLOSE, COMPRESS, ENABLE, EXAMINE, IDLE, LOGIN, LOGOUT, PROXYAUTH, SELECT,
// SETACL, SETQUOTA, STARTTLS, SUBSCRIBE, UNSUBSCRIBE and commands sent with
// Xatom.
type IMAP4 struct {
	opts      Options
	host      string
	welcome   string // the greeting, set before the reader starts
	debug     *debugLog
	callbacks *callbackRunner
	// transport is what the connection was opened on; closing it ends the
	// connection. raw is the same as a net.Conn, for STARTTLS.
	transport io.ReadWriteCloser
	raw       net.Conn
	onClose   func() // NewStream: reap the process

	// rr is owned by the reader goroutine, except while the writer switches
	// the transport and the reader waits for it (switchTransport).
	rr *responseReader
	// w, out and line are owned by the writer goroutine; w is nil while
	// the writer has nothing to write (see writer).
	w    *bufio.Writer // writing to out
	out  io.Writer
	line []byte // the buffer for command lines
	// lastActivity is the UnixNano of the last bytes from the server, or
	// of the moment the client began to wait for some.
	lastActivity atomic.Int64
	// inHandler counts the caller's functions running on the reader or the
	// writer (FetchFunc handlers, Authenticators): see runHandler.
	inHandler atomic.Int32

	session imapSession

	// mu guards the pipeline, IDLE and the routing of responses.
	mu         sync.Mutex
	tagPrefix  string // set once, in start
	tagNum     int
	issued     uint64
	queue      []*Command          // issued, not yet sent
	pending    map[string]*Command // sent, awaiting their tagged response
	contWaiter *Command            // the command expecting a "+"
	finishing  *Command            // answered, completing on the writer (see finishAlone)
	idle       *Command            // the IDLE command in flight
	idleState  idleState
	idleEnding bool // the IDLE in flight must end
	writing    bool // the writer goroutine runs
	logout     *Command
	router     router
	err        error // why the connection ended
	watchdog   *time.Timer

	kick    chan struct{} // wakes the writer: queue or pending changed
	resume  chan struct{} // the reader may go on after a transport switch
	closed  chan struct{} // closed when the connection ends
	done    chan struct{} // closed when reader and writer have exited
	running atomic.Int32  // reader and writer goroutines alive
}

// New connects to an IMAP server over plain TCP (imaplib2's IMAP4). host ""
// means "localhost"; the port is opts.Port or 143. It returns once the
// greeting and the capabilities have been read.
func New(host string, opts *Options) (*IMAP4, error) {
	o := withDefaults(opts, IMAP4Port)
	conn, err := dial(host, o)
	if err != nil {
		return nil, err
	}
	return start(conn, hostOrLocal(host), o, nil)
}

// NewConn speaks IMAP over an established transport, such as a connection
// made by a proxy dialer or one end of a pipe. It reads the greeting and the
// capabilities before it returns. Closing the IMAP4 closes conn.
func NewConn(conn io.ReadWriteCloser, opts *Options) (*IMAP4, error) {
	return start(conn, "", withDefaults(opts, IMAP4Port), nil)
}

func hostOrLocal(host string) string {
	if host == "" {
		return "localhost"
	}
	return host
}

func withDefaults(opts *Options, port int) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Port == 0 {
		o.Port = port
	}
	if o.DebugWriter == nil {
		o.DebugWriter = os.Stderr
	}
	if o.DebugBufLvl == 0 {
		o.DebugBufLvl = 3
	}
	if o.MaxLiteralSize <= 0 {
		o.MaxLiteralSize = DefaultMaxLiteralSize
	}
	if o.MaxLineSize <= 0 {
		o.MaxLineSize = DefaultMaxLineSize
	}
	if o.MaxStoredResponses <= 0 {
		o.MaxStoredResponses = DefaultMaxStoredResponses
	}
	return o
}

// dial opens the TCP connection to host, within o.Timeout.
func dial(host string, o Options) (net.Conn, error) {
	ctx := context.Background()
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	dialer := o.DialContext
	if dialer == nil {
		dialer = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
	addr := net.JoinHostPort(hostOrLocal(host), strconv.Itoa(o.Port))
	conn, err := dialer(ctx, "tcp", addr)
	if err != nil {
		return nil, newError(ErrAbort, "", "cannot connect to "+addr, err)
	}
	return conn, nil
}

// start builds the connection on transport, reads the greeting, starts the
// goroutines and learns the capabilities. debug nil means a new debug log.
func start(transport io.ReadWriteCloser, host string, o Options, debug *debugLog) (*IMAP4, error) {
	if debug == nil {
		debug = newDebugLog(o, host)
	}
	m := &IMAP4{
		opts:      o,
		host:      host,
		debug:     debug,
		transport: transport,
		tagPrefix: Int2AP(4096 + rand.IntN(65536-4096)),
		pending:   make(map[string]*Command),
		router:    newRouter(o.MaxStoredResponses),
		kick:      make(chan struct{}, 1),
		resume:    make(chan struct{}),
		closed:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	m.session.debug = debug
	m.callbacks = newCallbackRunner(m.debug)
	if c, ok := transport.(net.Conn); ok {
		m.raw = c
	} else {
		m.raw = pipeConn{transport}
	}
	m.setStreams(transport, transport)
	if err := m.readGreeting(); err != nil {
		transport.Close()
		m.callbacks.stop()
		return nil, err
	}
	m.startWatchdog()
	m.running.Store(1)
	go m.readLoop()
	if len(m.Capabilities()) == 0 {
		if _, err := m.Capability().Wait(); err != nil {
			m.Shutdown()
			return nil, err
		}
	}
	if m.ProtocolVersion() == "" {
		m.Shutdown()
		return nil, newError(ErrError, "", "server not IMAP4 compliant: no IMAP4, IMAP4rev1 or IMAP4rev2 capability", nil)
	}
	return m, nil
}

// readGreeting reads the server's first line, within the timeout.
func (m *IMAP4) readGreeting() error {
	var timedOut atomic.Bool
	if m.opts.Timeout > 0 {
		t := time.AfterFunc(m.opts.Timeout, func() { timedOut.Store(true); m.transport.Close() })
		defer t.Stop()
	}
	raw, err := m.rr.readLine()
	if err != nil {
		if timedOut.Load() {
			return newError(ErrAbort, "", fmt.Sprintf("no greeting from server after %v", m.opts.Timeout), nil)
		}
		return newError(ErrAbort, "", "reading the greeting", err)
	}
	line := string(raw)
	m.debug.received("", line)
	m.welcome = line
	r := parseLine(raw)
	unrecognised := newError(ErrError, "", fmt.Sprintf("unrecognised server welcome message: %q", truncate(line)), nil)
	if r.kind != untaggedResponse {
		return unrecognised
	}
	switch r.typ {
	case "OK":
		m.session.setState(NONAUTH)
	case "PREAUTH":
		m.session.setState(AUTH)
	case "BYE":
		return newError(ErrAbort, "", "server refused the connection: "+r.text, nil)
	default:
		return unrecognised
	}
	if r.code == "CAPABILITY" {
		m.session.setCapabilitiesLocked(r.detail) // the reader is not running yet
	}
	return nil
}

// writeBufferSize is the writer's buffer: literals larger than it bypass
// it, so a small one keeps an idle connection cheap.
const writeBufferSize = 1 << 10

// setStreams puts the reader and writer on new streams (after STARTTLS or
// COMPRESS). Every read counts as activity for the inactivity timeout.
func (m *IMAP4) setStreams(r io.Reader, w io.Writer) {
	r = &activityReader{r: r, last: &m.lastActivity}
	m.rr = newResponseReader(r, m.opts.MaxLineSize, m.opts.MaxLiteralSize)
	m.rr.streamed = m.streamed
	m.rr.trace = m.debug.enabled(debugWire)
	m.out, m.w = w, nil // the writer makes its buffer when it has something to write
}

// writer returns the writer's buffered stream, making it if the writer has
// released it. Only the writer goroutine calls it.
func (m *IMAP4) writer() *bufio.Writer {
	if m.w == nil {
		m.w = bufio.NewWriterSize(m.out, writeBufferSize)
	}
	return m.w
}

// activityReader records the time of every successful read.
type activityReader struct {
	r    io.Reader
	last *atomic.Int64
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// State returns the connection's state: NONAUTH, AUTH, SELECTED or LOGOUT.
func (m *IMAP4) State() string { return m.session.currentState() }

// Welcome returns the server's greeting line, e.g. "* OK IMAP ready".
func (m *IMAP4) Welcome() string { return m.welcome }

// Capabilities returns the server's capabilities, upper-cased. They are
// learned from the greeting or a CAPABILITY command, and again after
// STARTTLS, LOGIN and AUTHENTICATE or whenever the server announces them.
func (m *IMAP4) Capabilities() []string {
	m.session.mu.Lock()
	defer m.session.mu.Unlock()
	return strings.Fields(m.session.caps)
}

// ProtocolVersion returns the most recent protocol the server supports:
// "IMAP4REV2", "IMAP4REV1" or "IMAP4" (imaplib2's PROTOCOL_VERSION).
func (m *IMAP4) ProtocolVersion() string {
	for _, v := range []string{"IMAP4REV2", "IMAP4REV1", "IMAP4"} {
		if m.session.hasCapability(v) {
			return v
		}
	}
	return ""
}

// Response returns and removes the stored data of the untagged response or
// response code named code (e.g. "EXISTS", "UIDVALIDITY", "APPENDUID"). The
// Result's Type is code as given; with nothing stored its Data is one empty
// Datum. It never talks to the server.
func (m *IMAP4) Response(code string) Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	data := m.router.store.take(strings.ToUpper(code))
	if len(data) == 0 {
		data = noData()
	}
	return Result{Type: code, Data: data}
}

// PopUntaggedResponses returns and removes every stored untagged response,
// oldest first, grouped by type as they arrived. Taking data that a running
// command would collect leaves that command without it.
func (m *IMAP4) PopUntaggedResponses() []Untagged {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.router.store.popAll()
}

// Shutdown drops the connection without LOGOUT (imaplib2's shutdown). Every
// pending command completes with ErrAbort. It waits until the connection's
// reader and writer have stopped, and may be called more than once. Called
// from a FetchFunc handler or an Authenticator (or while one runs), which
// run on the reader or the writer, it returns without waiting: they stop as
// soon as the function returns.
func (m *IMAP4) Shutdown() error {
	m.fail(newError(ErrAbort, "", "connection shut down by the client", nil))
	if m.inHandler.Load() == 0 {
		<-m.done
	}
	return nil
}

// runHandler runs fn, a function of the caller's, on the reader or the
// writer, counted so that Shutdown called from it does not wait for the
// goroutine it runs on.
func (m *IMAP4) runHandler(fn func()) {
	m.inHandler.Add(1)
	defer m.inHandler.Add(-1)
	fn()
}
