package imaplib2

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"time"
)

// A Command is an IMAP command issued on a connection. Every command method
// of IMAP4 returns one at once; the command runs in the background and its
// outcome is read with Wait, WaitContext, Done or OnDone, in any mix.
type Command struct {
	m    *IMAP4
	name string // the command word(s), e.g. "FETCH" or "UID FETCH"
	spec spec
	args []arg
	err  error // an argument that cannot be sent, found while building

	collect   []string                     // untagged types the command collects, in order
	ranges    seqRanges                    // FETCH/STORE: the messages whose data it collects; nil: all
	byUID     bool                         // ranges holds UIDs
	auth      func([]byte) ([]byte, error) // AUTHENTICATE's challenge handler
	each      func([]Datum)                // FetchFunc's handler
	idleFor   time.Duration                // IDLE's timeout
	idleTimer *time.Timer                  // IDLE's timeout, armed when the server idles
	examine   bool                         // SELECT/EXAMINE: read-only selection
	tlsConfig *tls.Config                  // STARTTLS's configuration

	// Set by the writer when the command goes on the wire.
	tag        string
	seq        uint64      // issue order, for aborting in order
	received   []string    // the single-response types it has received
	capsAtSend int         // capability updates before the command was sent
	cont       chan string // continuation requests, for a command that expects them

	// tagged is closed by the reader when the tagged response has been
	// handled, for a command the writer waits on (state-changing ones and
	// those with literals); status holds it. Commands with a follow-up
	// step (STARTTLS, COMPRESS, LOGIN without capabilities) complete after
	// that step.
	tagged chan struct{}
	status *response

	mu        sync.Mutex
	done      chan struct{}
	res       Result
	resErr    error
	callbacks []func(Result, error)
}

// Tag returns the command's tag, or "" if it never reached the wire.
func (c *Command) Tag() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tag
}

// Done returns a channel that is closed when the command has completed.
func (c *Command) Done() <-chan struct{} { return c.done }

// Wait blocks until the command completes and returns its result.
// A tagged NO is a Result with Type "NO"; BAD, failures and aborts are
// errors (see ErrError, ErrAbort, ErrReadonly).
func (c *Command) Wait() (Result, error) {
	<-c.done
	return c.res, c.resErr
}

// WaitContext is Wait with a context: it returns ctx.Err() if ctx ends
// first. The command itself goes on and completes normally.
func (c *Command) WaitContext(ctx context.Context) (Result, error) {
	select {
	case <-c.done:
		return c.res, c.resErr
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// OnDone registers fn to be called once with the command's result, like
// imaplib2's callback. Callbacks run one at a time, in completion order, on
// a goroutine owned by the connection, never on the reader; they may issue
// commands and wait for them. A panic in fn is recovered and reported in the
// debug log. If the command has already completed, fn still runs once; if
// the connection has also shut down, fn runs before OnDone returns.
func (c *Command) OnDone(fn func(Result, error)) *Command {
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		c.m.callbacks.run(callback{fn, c})
	default:
		c.callbacks = append(c.callbacks, fn)
		c.mu.Unlock()
	}
	return c
}

// complete records the command's outcome, wakes its waiters and queues its
// callbacks. Only the first call has any effect.
func (c *Command) complete(res Result, err error) {
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return
	default:
	}
	if err == nil && len(res.Data) == 0 {
		res.Data = noData()
	}
	c.res, c.resErr = res, err
	callbacks := c.callbacks
	c.callbacks = nil
	close(c.done)
	c.mu.Unlock()
	if err != nil {
		c.m.debug.logf(debugState, "caller", "%s %s => %v", c.tag, c.name, err)
	}
	for _, fn := range callbacks {
		c.m.callbacks.run(callback{fn, c})
	}
}

// The states a command is valid in.
type states uint8

const (
	inNonAuth states = 1 << iota
	inAuth
	inSelected
	inLogout
)

var stateBits = map[string]states{NONAUTH: inNonAuth, AUTH: inAuth, SELECTED: inSelected, LOGOUT: inLogout}

// spec describes a command: where it is valid, whether it is one of
// imaplib2's state-changing ("sync") commands, what it collects.
type spec struct {
	valid   states
	sync    bool
	collect []string
}

const (
	anyState = inNonAuth | inAuth | inSelected
	authSel  = inAuth | inSelected
)

// commands is imaplib2's command table (behaviour notes §1.2 and §1.9), with
// IDLE and COMPRESS also valid in the authenticated state (RFC 9051, 4978).
var commands = map[string]spec{
	"APPEND":        {authSel, true, nil},
	"AUTHENTICATE":  {inNonAuth, true, nil},
	"CAPABILITY":    {anyState, false, []string{"CAPABILITY"}},
	"CHECK":         {inSelected, false, nil},
	"CLOSE":         {inSelected, true, nil},
	"COMPRESS":      {authSel, true, nil},
	"COPY":          {inSelected, false, nil},
	"CREATE":        {authSel, false, nil},
	"DELETE":        {authSel, false, nil},
	"DELETEACL":     {authSel, false, nil},
	"ENABLE":        {inAuth, true, nil},
	"EXAMINE":       {authSel, true, []string{"EXISTS"}},
	"EXPUNGE":       {inSelected, false, []string{"EXPUNGE"}},
	"FETCH":         {inSelected, false, []string{"FETCH"}},
	"GETACL":        {authSel, false, []string{"ACL"}},
	"GETANNOTATION": {authSel, false, []string{"ANNOTATION"}},
	"GETQUOTA":      {authSel, false, []string{"QUOTA"}},
	"GETQUOTAROOT":  {authSel, false, []string{"QUOTAROOT", "QUOTA"}},
	"ID":            {anyState | inLogout, false, []string{"ID"}},
	"IDLE":          {authSel, true, nil},
	"LIST":          {authSel, false, []string{"LIST"}},
	"LOGIN":         {inNonAuth, true, nil},
	"LOGOUT":        {anyState | inLogout, true, nil},
	"LSUB":          {authSel, false, []string{"LSUB"}},
	"MYRIGHTS":      {authSel, false, []string{"MYRIGHTS"}},
	"NAMESPACE":     {authSel, false, []string{"NAMESPACE"}},
	"NOOP":          {anyState, false, nil},
	"PARTIAL":       {inSelected, false, []string{"FETCH"}},
	"PROXYAUTH":     {inAuth, true, nil},
	"RENAME":        {authSel, false, nil},
	"SEARCH":        {inSelected, false, []string{"SEARCH"}},
	"SELECT":        {authSel, true, []string{"EXISTS"}},
	"SETACL":        {authSel, true, nil},
	"SETANNOTATION": {authSel, false, []string{"ANNOTATION"}},
	"SETQUOTA":      {authSel, true, []string{"QUOTA"}},
	"SORT":          {inSelected, false, []string{"SORT"}},
	"STARTTLS":      {inNonAuth, true, nil},
	"STATUS":        {authSel, false, []string{"STATUS"}},
	"STORE":         {inSelected, false, []string{"FETCH"}},
	"SUBSCRIBE":     {authSel, true, nil},
	"THREAD":        {inSelected, false, []string{"THREAD"}},
	"UID":           {inSelected, false, []string{"FETCH"}},
	"UNSELECT":      {inSelected, true, nil}, // RFC 3691, through Xatom
	"UNSUBSCRIBE":   {authSel, true, nil},
}

// xatomSpec is the spec of commands sent with Xatom: valid in any state
// but LOGOUT and, as their effect is unknown, state-changing.
var xatomSpec = spec{valid: anyState, sync: true}

// newCommand starts building a command named name.
func (m *IMAP4) newCommand(name string) *Command {
	sp, ok := commands[name]
	if !ok {
		sp = xatomSpec
	}
	return &Command{m: m, name: name, spec: sp, collect: sp.collect, done: make(chan struct{})}
}

// quoter returns the quoting rules in force.
func (m *IMAP4) quoter() quoter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return quoter{utf8: m.utf8}
}

// add appends an encoded argument, remembering the first encoding error.
func (c *Command) add(a arg, err error) *Command {
	if err != nil {
		if c.err == nil {
			c.err = newError(ErrError, c.name, "bad argument", err)
		}
		return c
	}
	c.args = append(c.args, a)
	return c
}

// astring adds arguments quoted by the seed's rules.
func (c *Command) astring(values ...string) *Command {
	q := c.m.quoter()
	for _, v := range values {
		c.add(q.astring(v))
	}
	return c
}

// mailbox adds mailbox-name arguments, quoted by the seed's rules. A name
// with characters outside printable ASCII is encoded in modified UTF-7
// unless UTF8=ACCEPT is in force; an ASCII name is sent as it is, so that
// names as LIST returns them (already encoded) go back unchanged.
func (c *Command) mailbox(names ...string) *Command {
	q := c.m.quoter()
	for _, name := range names {
		if strings.IndexByte(name, 0) >= 0 {
			c.add(arg{}, errNUL)
			continue
		}
		if !q.utf8 && !isPrintableASCII(name) {
			name = EncodeMailboxName(name)
		}
		c.add(q.astring(name))
	}
	return c
}

// set adds a message-set argument. A valid sequence set is sent as it is,
// and the command then collects only FETCH data of the messages in it (by
// number, or by UID for UID commands).
func (c *Command) set(messageSet string, byUID bool) *Command {
	trimmed := strings.Trim(messageSet, "'")
	if ranges, ok := parseSet(trimmed); ok {
		c.ranges, c.byUID = ranges, byUID
		return c.add(arg{text: trimmed}, nil)
	}
	return c.add(c.m.quoter().astring(messageSet))
}

// raw adds arguments that are sent exactly as given (FETCH items, STATUS
// names, STORE commands); only CR, LF and NUL are refused.
func (c *Command) raw(values ...string) *Command {
	for _, v := range values {
		c.add(verbatim(v))
	}
	return c
}

// issue queues the command for the writer and returns it. An argument that
// could not be encoded completes it at once, and nothing is sent.
func (c *Command) issue() *Command {
	if c.err != nil {
		c.complete(Result{}, c.err)
		return c
	}
	c.m.enqueue(c)
	return c
}

// A seqRanges is a parsed sequence set.
type seqRanges [][2]uint32

// parseSet parses a sequence set; "*" alone stands for any message, as the
// client does not know which is the last.
func parseSet(s string) (seqRanges, bool) {
	var rs seqRanges
	ok := scanSet(s, &rs)
	for i := range rs {
		if rs[i][0] == seqStar {
			rs[i][0] = 1
		}
	}
	return rs, ok
}

func (rs seqRanges) contains(n uint32) bool {
	if n == 0 {
		return false
	}
	for _, r := range rs {
		if r[0] <= n && n <= r[1] {
			return true
		}
	}
	return false
}

// accepts reports whether a FETCH response is one of c's: one of the
// messages (or UIDs) in its set, or any if it has no set.
func (c *Command) accepts(e *entry) bool {
	switch {
	case c.ranges == nil:
		return true
	case c.byUID:
		return c.ranges.contains(e.uid())
	}
	return c.ranges.contains(e.num)
}
