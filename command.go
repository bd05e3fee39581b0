package imaplib2

import (
	"context"
	"crypto/tls"
	"sync"
	"time"
)

// A Command is an IMAP command issued on a connection. Every command method
// of IMAP4 returns one at once; the command runs in the background and its
// outcome is read with Wait, WaitContext, Done or OnDone, in any mix.
type Command struct {
	m    *IMAP4
	spec *commandSpec
	name string // the command word(s), e.g. "FETCH" or "UID FETCH"
	args []arg
	err  error // an argument that cannot be sent, found while building

	// Room for the usual few arguments and the usual one collected
	// response, so that a command costs fewer allocations.
	argSpace       [2]arg
	collectedSpace [1]entry

	collect   []string      // untagged types it collects, in the Result's order
	set       seqRanges     // keyed FETCH data: the messages (or UIDs) it asked for; nil: all
	statusOf  string        // STATUS: the mailbox whose data it collects; "" for any (LIST-STATUS)
	auth      Authenticator // AUTHENTICATE's challenge handler
	each      func([]Datum) // FetchFunc's handler
	idleFor   time.Duration // IDLE's timeout
	examine   bool          // SELECT/EXAMINE: read-only selection
	tlsConfig *tls.Config   // STARTTLS's configuration

	selectName   string // SELECT/EXAMINE: the mailbox, as given
	needsEnabled string // an extension the server must have confirmed in ENABLED

	alone bool // it runs alone (see commandSpec.alone); set by the writer

	// Guarded by m.mu; set when the command goes on the wire.
	tag       string
	seq       uint64  // issue order, for aborting in order
	collected []entry // the untagged data routed to it, in arrival order
	keptCode  string  // the data of the response code its description keeps

	// AUTHENTICATE, owned by the writer: the mechanism's client speaks
	// first; the initial response was given. Written by the writer under
	// m.mu, read by the reader: the last challenge after the initial
	// response; why the Authenticator cancelled the exchange.
	clientFirst, answered bool
	mechanism             string
	lastChallenge         []byte
	challenges            int // challenges after the initial response
	authErr               error
	capsAtSend            int // capability updates before the command was sent
	idleTimer             *time.Timer

	// cont carries the server's continuation requests to the writer, for a
	// command whose description expects them.
	cont chan string

	// tagged is closed by the reader once the tagged response has been
	// handled, for a command the writer waits on (one that runs alone or
	// sends literals); status holds that response. A command whose
	// description has a follow-up (a transport switch, learning the
	// capabilities) completes after it, on the writer.
	tagged chan struct{}
	status *response

	mu        sync.Mutex
	done      chan struct{}
	res       Result
	resErr    error
	callbacks []func(Result, error)
	// Room for the usual one callback.
	callbackSpace [1]func(Result, error)
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
		c.m.callbacks.run(callback{fn: fn, c: c})
	default:
		if c.callbacks == nil {
			c.callbacks = c.callbackSpace[:0]
		}
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
	if err != nil && c.m.debug.enabled(debugState) { // debugText's work only when shown
		c.m.debug.event(debugState, c.tag, "%s => %s", c.name, debugText(err))
	}
	for _, fn := range callbacks {
		c.m.callbacks.run(callback{fn: fn, c: c})
	}
}

// The states a command is valid in.
type states uint8

const (
	inNonAuth states = 1 << iota
	inAuth
	inSelected
	inLogout

	anyState = inNonAuth | inAuth | inSelected
	authSel  = inAuth | inSelected
)

var stateBits = map[string]states{NONAUTH: inNonAuth, AUTH: inAuth, SELECTED: inSelected, LOGOUT: inLogout}

// A commandSpec describes a command. The connection reads it to decide
// when the command may go on the wire, what it collects, how its
// continuations are answered and what its tagged response does to the
// session; nothing else branches on a command's name.
type commandSpec struct {
	name       string
	valid      states // the states it may be sent in
	capability string // the capability it needs; without it, ErrError and nothing is sent

	// alone: imaplib2's "sync" commands, which change the state. Such a
	// command waits until nothing is pending and holds back every later
	// command until it has completed. aloneOnlyToWait: it runs alone only
	// when it must wait for a "+" before a literal (APPEND); with LITERAL+,
	// or LITERAL- and small literals, it pipelines.
	alone, aloneOnlyToWait bool

	// collects lists the untagged types it collects, in the order its
	// Result lists them. Data of a keyless type (see keyedTypes) carries
	// nothing that names its command, so a command that collects one
	// never shares the wire with an earlier command that collects it too:
	// it waits, and then collects every response of that type until its
	// own tagged reply.
	collects []string
	byUID    bool // its FETCH data is keyed by UID, not message number
	// keepsCode names a response code that the command keeps when an
	// untagged OK carries it while the command runs: MOVE's COPYUID
	// (RFC 6851), which comes before the EXPUNGEs, not with the tagged OK.
	keepsCode string

	dialog dialog // the continuation requests it answers, beyond literals

	// After its tagged response: failsOnNO makes a NO an ErrError;
	// onOK and onNO are the new state ("" keeps it); learnsCaps asks for
	// the capabilities when the tagged OK did not announce them;
	// switches is the transport change that completes it (refused
	// before sending when that layer is already active). The writer runs
	// these follow-ups while it holds the command alone, so a command
	// with learnsCaps or switches must be alone.
	failsOnNO  bool
	onOK, onNO string
	learnsCaps bool
	switches   transportSwitch

	selects   bool // SELECT, EXAMINE: a new selection (see admit)
	logsOut   bool // LOGOUT: the connection ends with it
	ignoresRO bool // still sent after the mailbox became read-only
}

// dialog is how a command answers the server's continuation requests.
type dialog uint8

const (
	noDialog   dialog = iota // only its synchronising literals, if any
	saslDialog               // AUTHENTICATE: challenges until the tagged reply
	idleDialog               // IDLE: one "+", then DONE when it must end
)

// transportSwitch is the change of streams that follows a tagged OK.
type transportSwitch uint8

const (
	noSwitch       transportSwitch = iota
	tlsSwitch                      // STARTTLS
	compressSwitch                 // COMPRESS DEFLATE
)

// keyedTypes are the untagged types whose data names the command it
// answers: FETCH by message number or UID, STATUS by mailbox name, ESEARCH
// by the tag of its command (RFC 4731).
// Commands that collect them pipeline freely.
var keyedTypes = map[string]bool{"FETCH": true, "STATUS": true, "ESEARCH": true}

// The command table: imaplib2's commands (behaviour notes §1.2 and §1.9),
// with IDLE and COMPRESS also valid in the authenticated state (RFC 9051,
// RFC 4978).
var (
	cmdAppend       = &commandSpec{name: "APPEND", valid: authSel, alone: true, aloneOnlyToWait: true}
	cmdAuthenticate = &commandSpec{name: "AUTHENTICATE", valid: inNonAuth, alone: true, dialog: saslDialog, failsOnNO: true, onOK: AUTH, learnsCaps: true}
	cmdCapability   = &commandSpec{name: "CAPABILITY", valid: anyState, collects: []string{"CAPABILITY"}}
	cmdCheck        = &commandSpec{name: "CHECK", valid: inSelected}
	cmdClose        = &commandSpec{name: "CLOSE", valid: inSelected, alone: true, onOK: AUTH, onNO: AUTH, ignoresRO: true}
	cmdCompress     = &commandSpec{name: "COMPRESS", valid: authSel, alone: true, capability: "COMPRESS=DEFLATE", failsOnNO: true, switches: compressSwitch}
	cmdCopy         = &commandSpec{name: "COPY", valid: inSelected}
	cmdCreate       = &commandSpec{name: "CREATE", valid: authSel}
	cmdDelete       = &commandSpec{name: "DELETE", valid: authSel}
	cmdDeleteACL    = &commandSpec{name: "DELETEACL", valid: authSel}
	cmdEnable       = &commandSpec{name: "ENABLE", valid: inAuth, alone: true, capability: "ENABLE"}
	cmdExamine      = &commandSpec{name: "EXAMINE", valid: authSel, alone: true, collects: []string{"EXISTS"}, onOK: SELECTED, onNO: AUTH, selects: true, ignoresRO: true}
	cmdExpunge      = &commandSpec{name: "EXPUNGE", valid: inSelected, collects: []string{"EXPUNGE", "VANISHED"}}
	cmdFetch        = &commandSpec{name: "FETCH", valid: inSelected, collects: []string{"FETCH"}}
	cmdGetACL       = &commandSpec{name: "GETACL", valid: authSel, collects: []string{"ACL"}}
	cmdGetAnnot     = &commandSpec{name: "GETANNOTATION", valid: authSel, collects: []string{"ANNOTATION"}}
	cmdGetQuota     = &commandSpec{name: "GETQUOTA", valid: authSel, collects: []string{"QUOTA"}}
	cmdGetQuotaRoot = &commandSpec{name: "GETQUOTAROOT", valid: authSel, collects: []string{"QUOTAROOT", "QUOTA"}}
	cmdID           = &commandSpec{name: "ID", valid: anyState | inLogout, collects: []string{"ID"}}
	cmdIdle         = &commandSpec{name: "IDLE", valid: authSel, alone: true, capability: "IDLE", dialog: idleDialog}
	cmdList         = &commandSpec{name: "LIST", valid: authSel, collects: []string{"LIST"}}
	cmdListStatus   = &commandSpec{name: "LIST", valid: authSel, collects: []string{"LIST", "STATUS"}} // RFC 5819
	cmdNotify       = &commandSpec{name: "NOTIFY", valid: authSel, capability: "NOTIFY"}               // RFC 5465
	cmdLogin        = &commandSpec{name: "LOGIN", valid: inNonAuth, alone: true, failsOnNO: true, onOK: AUTH, learnsCaps: true}
	cmdLogout       = &commandSpec{name: "LOGOUT", valid: anyState | inLogout, alone: true, logsOut: true, ignoresRO: true}
	cmdLsub         = &commandSpec{name: "LSUB", valid: authSel, collects: []string{"LSUB"}}
	cmdMyRights     = &commandSpec{name: "MYRIGHTS", valid: authSel, collects: []string{"MYRIGHTS"}}
	cmdMove         = &commandSpec{name: "MOVE", valid: inSelected, collects: []string{"EXPUNGE", "VANISHED"}, keepsCode: "COPYUID"} // RFC 6851
	cmdNamespace    = &commandSpec{name: "NAMESPACE", valid: authSel, collects: []string{"NAMESPACE"}}
	cmdNoop         = &commandSpec{name: "NOOP", valid: anyState}
	cmdRecent       = &commandSpec{name: "NOOP", valid: anyState, collects: []string{"RECENT"}}
	cmdPartial      = &commandSpec{name: "PARTIAL", valid: inSelected, collects: []string{"FETCH"}}
	cmdProxyAuth    = &commandSpec{name: "PROXYAUTH", valid: inAuth, alone: true}
	cmdRename       = &commandSpec{name: "RENAME", valid: authSel}
	cmdSearch       = &commandSpec{name: "SEARCH", valid: inSelected, collects: []string{"SEARCH"}}
	cmdESearch      = &commandSpec{name: "SEARCH", valid: inSelected, collects: []string{"ESEARCH"}} // SEARCH RETURN (...), RFC 4731
	cmdSelect       = &commandSpec{name: "SELECT", valid: authSel, alone: true, collects: []string{"EXISTS"}, onOK: SELECTED, onNO: AUTH, selects: true, ignoresRO: true}
	cmdSetACL       = &commandSpec{name: "SETACL", valid: authSel, alone: true}
	cmdSetAnnot     = &commandSpec{name: "SETANNOTATION", valid: authSel, collects: []string{"ANNOTATION"}}
	cmdSetQuota     = &commandSpec{name: "SETQUOTA", valid: authSel, alone: true, collects: []string{"QUOTA"}}
	cmdSort         = &commandSpec{name: "SORT", valid: inSelected, collects: []string{"SORT"}}
	cmdStartTLS     = &commandSpec{name: "STARTTLS", valid: inNonAuth, alone: true, capability: "STARTTLS", failsOnNO: true, learnsCaps: true, switches: tlsSwitch}
	cmdStatus       = &commandSpec{name: "STATUS", valid: authSel, collects: []string{"STATUS"}}
	cmdStore        = &commandSpec{name: "STORE", valid: inSelected, collects: []string{"FETCH"}}
	cmdSubscribe    = &commandSpec{name: "SUBSCRIBE", valid: authSel, alone: true}
	cmdThread       = &commandSpec{name: "THREAD", valid: inSelected, collects: []string{"THREAD"}}
	cmdUnsubscribe  = &commandSpec{name: "UNSUBSCRIBE", valid: authSel, alone: true}
	cmdUnselect     = &commandSpec{name: "UNSELECT", valid: inSelected, alone: true, onOK: AUTH} // RFC 3691

	// UID commands collect FETCH data keyed by UID (FETCH, STORE) or the
	// data of the command they wrap (SEARCH, SORT, THREAD).
	cmdUIDFetch   = &commandSpec{name: "UID FETCH", valid: inSelected, collects: []string{"FETCH"}, byUID: true}
	cmdUIDSearch  = &commandSpec{name: "UID SEARCH", valid: inSelected, collects: []string{"SEARCH"}}
	cmdUIDESearch = &commandSpec{name: "UID SEARCH", valid: inSelected, collects: []string{"ESEARCH"}}
	// UID FETCH ... (CHANGEDSINCE n VANISHED) also collects VANISHED (EARLIER), RFC 7162.
	cmdUIDFetchVanished = &commandSpec{name: "UID FETCH", valid: inSelected, collects: []string{"FETCH", "VANISHED"}, byUID: true}
	cmdUIDSort          = &commandSpec{name: "UID SORT", valid: inSelected, collects: []string{"SORT"}}
	cmdUIDThread        = &commandSpec{name: "UID THREAD", valid: inSelected, collects: []string{"THREAD"}}
	cmdUIDOther         = &commandSpec{name: "UID", valid: inSelected, collects: []string{"FETCH"}, byUID: true}
	cmdUIDMove          = &commandSpec{name: "UID MOVE", valid: inSelected, collects: []string{"EXPUNGE", "VANISHED"}, keepsCode: "COPYUID"}
	cmdUIDExpunge       = &commandSpec{name: "UID EXPUNGE", valid: inSelected, collects: []string{"EXPUNGE", "VANISHED"}} // RFC 4315

	// Xatom's commands: their effect is unknown, so they run alone. A
	// command sent this way gets no dialog, whatever its name.
	cmdXatom = &commandSpec{name: "", valid: anyState, alone: true}
)

// xatomSpecs are the extension commands that Xatom knows by name: those
// whose effect on the state it must follow. None of them has a dialog.
var xatomSpecs = map[string]*commandSpec{"UNSELECT": cmdUnselect}

// uidSpecs maps the word after UID to its description.
var uidSpecs = map[string]*commandSpec{
	"FETCH": cmdUIDFetch, "MOVE": cmdUIDMove, "EXPUNGE": cmdUIDExpunge, "SEARCH": cmdUIDSearch, "SORT": cmdUIDSort, "THREAD": cmdUIDThread,
}

// newCommand starts building a command of the given description.
func (m *IMAP4) newCommand(spec *commandSpec) *Command {
	c := &Command{m: m, name: spec.name, spec: spec, collect: spec.collects, done: make(chan struct{})}
	c.args, c.collected = c.argSpace[:0], c.collectedSpace[:0]
	return c
}

// quoter returns the quoting rules in force.
func (m *IMAP4) quoter() quoter {
	return quoter{utf8: m.session.utf8Mode()}
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

// encoded adds arguments of form f, encoded under the rules now in force;
// the writer encodes them again if the rules change before they are sent.
func (c *Command) encoded(f form, values ...string) *Command {
	q := c.m.quoter()
	for _, v := range values {
		c.add(q.encode(f, v))
	}
	return c
}

// astring adds arguments quoted by the seed's rules.
func (c *Command) astring(values ...string) *Command { return c.encoded(formAString, values...) }

// mailbox adds mailbox-name arguments (see quoter.mailbox).
func (c *Command) mailbox(names ...string) *Command { return c.encoded(formMailbox, names...) }

// seqSet adds a message-set argument. A valid sequence set is sent as it
// is, and keys the FETCH data the command collects: only the messages (or
// UIDs) in it are routed to it.
func (c *Command) seqSet(messageSet string) *Command {
	trimmed := messageSet
	if len(trimmed) >= 2 && trimmed[0] == '\'' && trimmed[len(trimmed)-1] == '\'' {
		trimmed = trimmed[1 : len(trimmed)-1]
	}
	if set, ok := parseSeqSet(trimmed); ok {
		c.set = set
		return c.add(arg{text: trimmed}, nil)
	}
	return c.astring(messageSet)
}

// raw adds arguments that are sent exactly as given (FETCH items, STATUS
// names, STORE commands); only what could break the command's framing is
// refused.
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

// literals reports whether any argument is a literal.
func (c *Command) literals() bool {
	for _, a := range c.args {
		if a.isLiteral {
			return true
		}
	}
	return false
}

// contains reports whether n is in the set, reading a range that ends in
// "*" as n and up.
func (set seqRanges) contains(n uint32) bool {
	for _, r := range set {
		if r.Lo <= n && n <= r.Hi {
			return true
		}
	}
	return false
}

// mayContain reports whether n could be in the set although contains says
// no: "10:*" holds the last message even when that is below 10 (RFC 3501
// §6.4.8), and the client does not know which is last.
func (set seqRanges) mayContain(n uint32) bool {
	for _, r := range set {
		if r.Hi == seqStar && n < r.Lo {
			return true
		}
	}
	return false
}
