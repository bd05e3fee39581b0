package imaplib2

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file holds the connection's life: the writer goroutine that sends
// commands, the reader goroutine that receives and routes responses, the
// inactivity timer, and how a failure completes every pending command.

// enqueue hands a command to the writer. It never blocks.
func (m *IMAP4) enqueue(c *Command) {
	m.mu.Lock()
	if m.err != nil {
		err := m.err
		m.mu.Unlock()
		c.complete(Result{}, withCommand(err, c.name))
		return
	}
	m.issued++
	c.seq = m.issued
	m.queue = append(m.queue, c)
	m.wakeWriter()
	m.mu.Unlock()
}

// wakeWriter makes the writer look at its work again, starting its
// goroutine if none runs: the writer exits whenever it has nothing to do,
// so that an idle connection (or one in IDLE) costs only its reader. The
// caller holds m.mu.
func (m *IMAP4) wakeWriter() {
	switch {
	case m.err != nil:
	case m.writing:
		m.poke(m.kick)
	default:
		m.writing = true
		m.running.Add(1)
		go m.writeLoop()
	}
}

// poke signals ch without blocking; the receiver re-checks what changed.
func (m *IMAP4) poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// waitUntil blocks the writer until cond (checked under m.mu) holds; it
// returns false when the connection has ended.
func (m *IMAP4) waitUntil(cond func() bool) bool {
	for {
		m.mu.Lock()
		ended := m.err != nil
		ok := !ended && cond()
		m.mu.Unlock()
		if ended {
			return false
		}
		if ok {
			return true
		}
		select {
		case <-m.kick:
		case <-m.closed:
		}
	}
}

// writeLoop is the writer goroutine: it sends the queued commands in order,
// letting a state-changing command go only once nothing else is pending and
// holding later commands back until it has completed, and ends an IDLE when
// asked to. It exits when there is nothing left to do.
func (m *IMAP4) writeLoop() {
	defer m.exited()
	for {
		c, idle := m.nextWork()
		switch {
		case idle != nil:
			if !m.endIdle(idle) {
				return
			}
			continue
		case c == nil:
			return
		}
		if c.spec.sync {
			m.wrote(m.flush())
			if !m.waitUntil(func() bool { return len(m.pending) == 0 }) {
				c.complete(Result{}, withCommand(m.failure(), c.name))
				return
			}
		}
		if err := m.admit(c); err != nil {
			c.complete(Result{}, err)
			continue
		}
		if !m.wrote(m.send(c)) {
			return
		}
		if c.spec.sync && !m.finishSync(c) {
			return
		}
	}
}

// nextWork returns the writer's next task: an IDLE to end (because a
// command is waiting or the IDLE was asked to end), or the next command.
// With neither, it sends what is buffered, records that the writer stops
// and returns nils.
func (m *IMAP4) nextWork() (c, idle *Command) {
	for {
		m.mu.Lock()
		switch {
		case m.err != nil:
			m.writing = false
			m.mu.Unlock()
			return nil, nil
		case m.idling != nil && (m.idleEnding || len(m.queue) > 0):
			idle = m.idling
			m.idling, m.idleEnding = nil, false
			m.lastActivity.Store(time.Now().UnixNano()) // the inactivity timeout applies again
			m.mu.Unlock()
			return nil, idle
		case m.idling == nil && m.popQueue(&c):
			m.mu.Unlock()
			return c, nil
		case m.w.Buffered() > 0: // commands held back to go out together
			m.mu.Unlock()
			m.wrote(m.flush())
			continue
		}
		m.writing = false
		m.mu.Unlock()
		return nil, nil
	}
}

// popQueue takes the first queued command into *c, if there is one. The
// caller holds m.mu.
func (m *IMAP4) popQueue(c **Command) bool {
	if len(m.queue) == 0 {
		return false
	}
	*c = m.queue[0]
	m.queue[0] = nil
	m.queue = m.queue[1:]
	return true
}

// wrote reports whether a write succeeded; a failed one ends the
// connection.
func (m *IMAP4) wrote(err error) bool {
	if err != nil {
		m.fail(newError(ErrAbort, "", "writing to the server", err))
	}
	return err == nil
}

// failure returns why the connection ended.
func (m *IMAP4) failure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// admit checks, just before sending, that c may be sent now, and applies
// its effects on the client's state: SELECT forgets stored responses,
// LOGOUT enters the LOGOUT state.
func (m *IMAP4) admit(c *Command) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return withCommand(m.err, c.name)
	}
	if c.spec.valid&stateBits[m.state] == 0 {
		return newError(ErrError, c.name, "command illegal in state "+m.state, nil)
	}
	switch c.name {
	case "SELECT", "EXAMINE", "CLOSE", "LOGOUT":
	default:
		if m.readonlySeen {
			return newError(ErrReadonly, c.name, "mailbox status changed to READ-ONLY", nil)
		}
	}
	if capability := requiredCapability[c.name]; capability != "" && !m.hasCapability(capability) {
		return newError(ErrError, c.name, "server does not support "+capability, nil)
	}
	switch c.name {
	case "SELECT", "EXAMINE":
		m.store.flush()
		m.readonlySeen = false
		m.examined = c.examine
	case "LOGOUT":
		m.state = LOGOUT
		m.logout = c
	case "STARTTLS":
		if m.tlsActive {
			return newError(ErrAbort, c.name, "TLS session already established", nil)
		}
	case "COMPRESS":
		if m.compressed {
			return newError(ErrError, c.name, "compression already active", nil)
		}
	}
	if c.name != "SELECT" && c.name != "EXAMINE" {
		for _, typ := range []string{"OK", "NO", "BAD"} {
			m.store.drop(typ)
		}
	}
	return nil
}

// requiredCapability names the capability without which a command is
// refused before it is sent.
var requiredCapability = map[string]string{
	"IDLE":     "IDLE",
	"STARTTLS": "STARTTLS",
	"COMPRESS": "COMPRESS=DEFLATE",
	"ENABLE":   "ENABLE",
}

// send writes c: its tag and name, its arguments and literals, and for
// AUTHENTICATE the answers to the server's challenges. It returns an error
// only when writing fails.
func (m *IMAP4) send(c *Command) error {
	m.mu.Lock()
	if m.err != nil {
		err := m.err
		m.mu.Unlock()
		c.complete(Result{}, withCommand(err, c.name))
		return nil
	}
	m.tagNum++
	tag := string(strconv.AppendInt(append(m.line[:0], m.tagPrefix...), int64(m.tagNum), 10))
	c.mu.Lock()
	c.tag = tag
	c.mu.Unlock()
	c.capsAtSend = m.capsVersion
	if c.spec.sync || slices.ContainsFunc(c.args, func(a arg) bool { return a.isLiteral }) {
		c.tagged = make(chan struct{})
	}
	if len(m.pending) == 0 {
		m.lastActivity.Store(time.Now().UnixNano())
	}
	m.pending[tag] = c
	m.store.register(c)
	literalPlus := m.hasCapability("LITERAL+")
	m.mu.Unlock()

	line := append(append(append(m.line[:0], tag...), ' '), c.name...)
	defer func() { m.line = line[:0] }()
	var shown []byte // the line as the debug log shows it
	if m.debug.enabled(debugWire) {
		shown = append(shown, line...)
	}
	for _, a := range c.args {
		line = append(append(line, ' '), a.text...)
		if shown != nil {
			shown = appendShown(shown, a, literalPlus)
		}
		if !a.isLiteral {
			continue
		}
		if a.binary {
			line = append(line, '~')
		}
		line = strconv.AppendInt(append(line, '{'), int64(len(a.literal)), 10)
		if literalPlus {
			line = append(line, '+')
		}
		if _, err := m.w.Write(append(line, "}\r\n"...)); err != nil {
			return err
		}
		if !literalPlus {
			if _, ok, err := m.awaitContinuation(c); !ok || err != nil {
				return err
			}
		}
		if _, err := m.w.Write(a.literal); err != nil {
			return err
		}
		line = append(line[:0], a.closer...)
	}
	if _, err := m.w.Write(append(line, "\r\n"...)); err != nil {
		return err
	}
	if shown != nil {
		m.debug.logf(debugWire, "writer", "> %s", shown)
	} else if m.debug.enabled(debugState) {
		m.debug.logf(debugState, "writer", "%s %s", tag, c.name)
	}
	switch c.name {
	case "IDLE":
		m.expectContinuation(c)
	case "AUTHENTICATE":
		return m.authenticate(c)
	}
	if !c.spec.sync && m.moreQueued() {
		return nil // the next command's write or flush sends it too
	}
	return m.flush()
}

// moreQueued reports whether commands are waiting to be sent.
func (m *IMAP4) moreQueued() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue) > 0
}

// appendShown adds the debug form of an argument: secrets are hidden,
// literals shown by their size.
func appendShown(shown []byte, a arg, literalPlus bool) []byte {
	shown = append(shown, ' ')
	plus := ""
	if literalPlus {
		plus = "+"
	}
	switch {
	case a.secret:
		return append(shown, "<redacted>"...)
	case a.isLiteral:
		return fmt.Appendf(shown, "%s{%d%s} <%d literal bytes>%s", a.text, len(a.literal), plus, len(a.literal), a.closer)
	}
	return append(shown, a.text...)
}

// flush sends what the writer has buffered and counts it as activity.
func (m *IMAP4) flush() error {
	err := m.w.Flush()
	m.lastActivity.Store(time.Now().UnixNano())
	return err
}

// expectContinuation routes the next "+" to c. The caller then flushes.
func (m *IMAP4) expectContinuation(c *Command) {
	m.mu.Lock()
	if c.cont == nil {
		c.cont = make(chan string, 1)
	}
	m.contWaiter = c
	m.mu.Unlock()
}

// awaitContinuation flushes and waits for the server's "+" for c, and
// returns its text. It reports false if c completed instead (the server
// refused it) or the connection ended.
func (m *IMAP4) awaitContinuation(c *Command) (string, bool, error) {
	m.expectContinuation(c)
	if err := m.flush(); err != nil {
		return "", false, err
	}
	select {
	case text := <-c.cont:
		return text, true, nil
	case <-c.tagged:
		return "", false, nil
	case <-m.closed:
		return "", false, nil
	}
}

// finishSync waits until the state-changing command c has completed,
// running its follow-up step (STARTTLS, COMPRESS, capabilities after LOGIN)
// on the way. It returns false when the connection has ended.
func (m *IMAP4) finishSync(c *Command) bool {
	if c.name == "IDLE" {
		return m.idleStarted(c)
	}
	select {
	case <-c.tagged:
	case <-m.closed:
		return false
	}
	if c.status != nil {
		res, err := m.followUp(c)
		c.complete(res, err)
	}
	select {
	case <-c.done:
		return true
	case <-m.closed:
		return false
	}
}

// followUp runs the step that completes a successful STARTTLS, COMPRESS,
// LOGIN or AUTHENTICATE after its tagged OK.
func (m *IMAP4) followUp(c *Command) (Result, error) {
	var err error
	switch c.name {
	case "STARTTLS":
		err = m.upgradeTLS(c)
	case "COMPRESS":
		err = m.startCompression()
	}
	if err != nil {
		m.fail(newError(ErrAbort, c.name, "cannot switch the connection", err))
		return Result{}, withCommand(m.failure(), c.name)
	}
	if c.name == "STARTTLS" || c.name == "COMPRESS" {
		select { // the reader goes on, on the new streams
		case m.resume <- struct{}{}:
		case <-m.closed:
			return Result{}, withCommand(m.failure(), c.name)
		}
	}
	if c.name != "COMPRESS" {
		if _, err := m.capabilityNow().Wait(); err != nil {
			return Result{}, err
		}
	}
	return Result{Type: "OK", Data: []Datum{{Text: c.status.text}}}, nil
}

// capabilityNow sends CAPABILITY from the writer itself, ahead of the queue.
func (m *IMAP4) capabilityNow() *Command {
	c := m.newCommand("CAPABILITY")
	m.wrote(m.send(c))
	return c
}

// readLoop is the reader goroutine: it reads every response and routes it.
func (m *IMAP4) readLoop() {
	defer m.exited()
	for {
		r, err := m.rr.read()
		if err != nil {
			m.fail(readFailure(err))
			return
		}
		m.lastActivity.Store(time.Now().UnixNano())
		if !m.dispatch(r) {
			return
		}
	}
}

// readFailure describes why reading failed.
func readFailure(err error) error {
	switch {
	case err == io.EOF:
		return newError(ErrAbort, "", "connection closed by the server", nil)
	case err == io.ErrUnexpectedEOF:
		return newError(ErrAbort, "", "connection closed by the server in the middle of a response", nil)
	case errors.Is(err, errProtocol):
		return newError(ErrAbort, "", err.Error(), nil)
	}
	return newError(ErrAbort, "", "reading from the server", err)
}

// dispatch handles one response; it returns false when the reader must stop.
func (m *IMAP4) dispatch(r *response) bool {
	switch r.kind {
	case continuationResponse:
		m.continuation(r)
		return true
	case untaggedResponse:
		return m.untagged(r)
	}
	return m.tagged(r)
}

// continuation hands a "+" to the command waiting for it. Untagged lines
// that arrive before it never cancel that wait.
func (m *IMAP4) continuation(r *response) {
	m.mu.Lock()
	c := m.contWaiter
	m.contWaiter = nil
	if c != nil && c.name == "IDLE" {
		m.startIdle(c)
	}
	m.mu.Unlock()
	if c == nil {
		m.debug.logf(debugState, "reader", "unexpected continuation request ignored: %q", r.text)
		return
	}
	if c.auth != nil {
		m.debug.logf(debugWire, "reader", "< + <redacted>")
	} else {
		m.debug.logf(debugWire, "reader", "< + %s", r.text)
	}
	c.cont <- r.text
}

// untagged stores an untagged response, updating capabilities, READ-ONLY
// and IDLE on the way. A BYE outside LOGOUT ends the connection.
func (m *IMAP4) untagged(r *response) bool {
	if m.debug.enabled(debugDetail) {
		m.debug.logf(debugDetail, "reader", "< * %s: %s", r.typ, summary(r.data))
	}
	m.mu.Lock()
	owner := r.owner
	if owner == nil {
		e := entry{num: r.num, data: r.data}
		owner = m.store.route(r.typ, &e)
	}
	if owner != nil && owner.each != nil {
		m.mu.Unlock()
		m.callbacks.protect(func() { owner.each(r.data) })
		return true
	}
	switch r.typ {
	case "CAPABILITY":
		m.setCapabilities(textOf(r.data))
	case "ENABLED": // RFC 6855: UTF-8 only once the server says so
		for _, ext := range strings.Fields(textOf(r.data)) {
			m.utf8 = m.utf8 || strings.EqualFold(ext, "UTF8=ACCEPT")
		}
	}
	m.noteCode(r, nil)
	if isStatus(r.typ) && r.code != "" {
		m.store.add(r.typ, 0, r.data, nil)
		m.store.add(r.code, 0, []Datum{{Text: r.detail}}, nil)
	} else {
		m.store.add(r.typ, r.num, r.data, owner)
	}
	if m.idling != nil && r.typ != "OK" {
		m.askEndIdle("server data")
	}
	bye := r.typ == "BYE"
	if bye {
		m.bye, m.byeSeen = r.text, true
	}
	loggingOut := m.logout != nil
	m.mu.Unlock()
	if bye && !loggingOut {
		m.fail(newError(ErrAbort, "", "server said BYE: "+r.text, nil))
		return false
	}
	return true
}

// streamed reports whether a FETCH response, of which only the first line
// has been read, belongs to a FetchFunc command, and records that command.
// Its literals may then be read into a reused buffer.
func (m *IMAP4) streamed(r *response, firstLine string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store.streams == 0 {
		return false
	}
	e := entry{num: r.num, data: []Datum{{Text: firstLine}}}
	if c := m.store.route("FETCH", &e); c != nil && c.each != nil {
		r.owner = c
		return true
	}
	return false
}

// noteCode applies what a response code says about the connection;
// completing is the command r completes, if r is tagged. The caller holds
// m.mu.
func (m *IMAP4) noteCode(r *response, completing *Command) {
	switch r.code {
	case "CAPABILITY":
		m.setCapabilities(r.detail)
	case "READ-ONLY":
		if !m.examined && (m.state == SELECTED || completing != nil && completing.name == "SELECT" || m.selecting()) {
			m.readonlySeen = true
		}
	}
}

// selecting reports whether a SELECT is pending. The caller holds m.mu.
func (m *IMAP4) selecting() bool {
	for _, c := range m.pending {
		if c.name == "SELECT" {
			return true
		}
	}
	return false
}

// summary shortens response data for the debug log.
func summary(data []Datum) string {
	s := ""
	for _, d := range data {
		s += d.Text
		if d.Literal != nil {
			s += fmt.Sprintf("<%d literal bytes>", len(d.Literal))
		}
	}
	return truncate(s)
}

// tagged completes the command that r answers.
func (m *IMAP4) tagged(r *response) bool {
	if m.debug.enabled(debugWire) {
		m.debug.logf(debugWire, "reader", "< %s %s %s", r.tag, r.typ, r.text)
	}
	m.mu.Lock()
	c := m.pending[r.tag]
	if c == nil {
		m.mu.Unlock()
		m.debug.logf(debugState, "reader", "response for unknown tag %s ignored: %s %s", r.tag, r.typ, r.text)
		return true
	}
	delete(m.pending, r.tag)
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	if m.idling == c { // the server ended the IDLE itself
		m.idling, m.idleEnding = nil, false
	}
	if m.contWaiter == c {
		m.contWaiter = nil
	}
	m.noteCode(r, c)
	if r.code != "" {
		m.store.add(r.code, 0, []Datum{{Text: r.detail}}, nil)
	}
	res, err := m.result(c, r)
	m.store.unregister(c)
	m.mu.Unlock()
	m.poke(m.kick)
	if r.typ == "BAD" {
		m.debug.dump()
	}
	switch {
	case c.name == "LOGOUT":
		c.status = r
		m.fail(newError(ErrAbort, "", "connection closed after LOGOUT", nil))
		return false
	case err == nil && needsFollowUp(c, c.capsAtSend != m.capsVersion):
		c.status = r
		close(c.tagged) // the writer runs the follow-up
		if c.name == "STARTTLS" || c.name == "COMPRESS" {
			select { // the writer switches the transport meanwhile
			case <-m.resume:
			case <-m.closed:
				return false
			}
		}
		return true
	}
	c.complete(res, err)
	if c.tagged != nil {
		close(c.tagged)
	}
	return true
}

// needsFollowUp reports whether c completes only after a step of the
// writer's: a transport change, or learning the capabilities after login
// when the server did not announce them.
func needsFollowUp(c *Command, capsAnnounced bool) bool {
	switch c.name {
	case "STARTTLS", "COMPRESS":
		return true
	case "LOGIN", "AUTHENTICATE":
		return !capsAnnounced
	}
	return false
}

// result turns c's tagged response into its Result or error, collects its
// untagged data and applies its effect on the state. The caller holds m.mu.
func (m *IMAP4) result(c *Command, r *response) (Result, error) {
	if r.typ == "BAD" {
		return Result{}, newError(ErrError, c.name, "BAD "+r.text, nil)
	}
	ok := r.typ == "OK"
	switch c.name {
	case "LOGIN", "AUTHENTICATE":
		if !ok {
			return Result{}, newError(ErrError, c.name, r.text, nil)
		}
		m.setState(AUTH)
	case "STARTTLS", "COMPRESS":
		if !ok {
			return Result{}, newError(ErrError, c.name, "server refused: "+r.text, nil)
		}
	case "SELECT", "EXAMINE":
		if !ok {
			if m.state == SELECTED {
				m.setState(AUTH)
			}
			return Result{Type: r.typ, Data: []Datum{{Text: r.text}}}, nil
		}
		m.setState(SELECTED)
		if m.readonlySeen {
			return Result{}, newError(ErrReadonly, c.name, "mailbox is not writable", nil)
		}
	case "CLOSE":
		m.setState(AUTH)
	case "UNSELECT":
		if ok {
			m.setState(AUTH)
		}
	}
	if !ok || c.collect == nil {
		return Result{Type: r.typ, Data: []Datum{{Text: r.text}}}, nil
	}
	data := m.store.take(c.collect[0], c)
	for _, typ := range c.collect[1:] {
		data = append(data, m.store.take(typ, c)...)
	}
	return Result{Type: r.typ, Data: data}, nil
}

// setState changes the state. The caller holds m.mu.
func (m *IMAP4) setState(s string) {
	if m.state != s {
		m.debug.logf(debugState, "reader", "state => %s", s)
	}
	m.state = s
}

// fail ends the connection for the reason err (once; later calls do
// nothing): the transport is closed and every pending and queued command
// completes with err. LOGOUT completes when the goroutines have stopped.
func (m *IMAP4) fail(err error) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	m.err = err
	m.state = LOGOUT
	close(m.closed)
	if m.watchdog != nil {
		m.watchdog.Stop()
	}
	var victims []*Command
	for _, c := range m.pending {
		if c != m.logout {
			victims = append(victims, c)
		}
	}
	victims = append(victims, m.queue...)
	if m.idling != nil && m.idling.idleTimer != nil {
		m.idling.idleTimer.Stop()
	}
	m.pending, m.queue, m.contWaiter, m.idling = map[string]*Command{}, nil, nil, nil
	loggingOut := m.logout != nil
	m.mu.Unlock()

	m.transport.Close()
	if !loggingOut {
		m.debug.logf(debugState, "caller", "connection ended: %v", err)
		m.debug.dump()
	}
	sort.Slice(victims, func(i, j int) bool { return victims[i].seq < victims[j].seq })
	for _, c := range victims {
		c.complete(Result{}, withCommand(err, c.name))
	}
}

// exited is called by the reader and the writer as they stop; the last one
// finishes the connection.
func (m *IMAP4) exited() {
	if m.running.Add(-1) > 0 {
		return
	}
	if m.onClose != nil {
		m.onClose()
	}
	m.mu.Lock()
	logout, bye, byeSeen, err := m.logout, m.bye, m.byeSeen, m.err
	m.mu.Unlock()
	if logout != nil {
		switch {
		case byeSeen:
			logout.complete(Result{Type: "BYE", Data: []Datum{{Text: bye}}}, nil)
		case logout.status != nil:
			logout.complete(Result{Type: logout.status.typ, Data: []Datum{{Text: logout.status.text}}}, nil)
		default:
			logout.complete(Result{}, withCommand(err, "LOGOUT"))
		}
	}
	close(m.done)
	m.callbacks.stop()
}

// startWatchdog arms imaplib2's inactivity timeout.
func (m *IMAP4) startWatchdog() {
	if m.opts.Timeout <= 0 {
		return
	}
	m.mu.Lock()
	m.watchdog = time.AfterFunc(m.opts.Timeout, m.checkActivity)
	m.mu.Unlock()
}

// checkActivity runs when the inactivity timer fires: with a command
// outstanding, no IDLE active and nothing heard for Options.Timeout, the
// connection is aborted; otherwise the timer is armed again.
func (m *IMAP4) checkActivity() {
	limit := m.opts.Timeout
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	quiet := time.Since(time.Unix(0, m.lastActivity.Load()))
	waiting := len(m.pending) > 0 && m.idling == nil
	if !waiting || quiet < limit {
		next := limit
		if waiting {
			next = limit - quiet
		}
		m.watchdog.Reset(next)
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	m.fail(newError(ErrAbort, "", fmt.Sprintf("no response after %v", limit), nil))
}

// callbackRunner runs OnDone callbacks one at a time, in the order they
// were queued, on a goroutine of its own that it starts with the first
// callback and that exits once the connection has ended and the queue is
// empty.
type callbackRunner struct {
	debug *debugLog

	mu       sync.Mutex
	queue    []callback
	wake     chan struct{}
	running  bool // the goroutine is running
	stopping bool // the connection has ended
}

func newCallbackRunner(debug *debugLog) *callbackRunner {
	return &callbackRunner{debug: debug, wake: make(chan struct{}, 1)}
}

// A callback is an OnDone function and the completed command it is for.
type callback struct {
	fn func(Result, error)
	c  *Command
}

// run queues cb; after the connection has ended and the queue has
// drained, it calls cb at once instead.
func (r *callbackRunner) run(cb callback) {
	r.mu.Lock()
	if r.stopping && !r.running {
		r.mu.Unlock()
		r.call(cb)
		return
	}
	r.queue = append(r.queue, cb)
	if !r.running {
		r.running = true
		go r.loop()
	}
	r.mu.Unlock()
	r.signal()
}

// stop lets the goroutine exit once the queue is empty.
func (r *callbackRunner) stop() {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.signal()
}

func (r *callbackRunner) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *callbackRunner) loop() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			if r.stopping {
				r.running = false
				r.mu.Unlock()
				return
			}
			r.mu.Unlock()
			<-r.wake
			continue
		}
		cb := r.queue[0]
		r.queue[0] = callback{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.call(cb)
	}
}

// call runs one callback.
func (r *callbackRunner) call(cb callback) {
	r.protect(func() { cb.fn(cb.c.res, cb.c.resErr) })
}

// protect runs a function of the caller's, recovering a panic.
func (r *callbackRunner) protect(fn func()) {
	defer func() {
		if p := recover(); p != nil {
			r.debug.logf(debugState, "callback", "callback panicked: %v", p)
		}
	}()
	fn()
}
