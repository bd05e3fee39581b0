package imaplib2

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// This file holds the pipeline: the queue of issued commands, the pending
// map of sent ones, the writer goroutine that sends them (and only writes),
// the reader goroutine that reads and routes responses, the one routine
// that switches the transport for STARTTLS and COMPRESS, the inactivity
// timer, and how a failure completes every command.
//
// Each hop happens in one place: caller → enqueue → writeLoop/send → wire →
// readLoop → dispatch → the Command (and its callbacks).

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
	m.wakeWriterLocked()
	m.mu.Unlock()
}

// wakeWriterLocked makes the writer look at its work again, starting its
// goroutine if none runs: the writer exits whenever it has nothing to do,
// so that an idle connection (or one in IDLE) costs only its reader. The
// caller holds m.mu.
func (m *IMAP4) wakeWriterLocked() {
	switch {
	case m.err != nil:
	case m.writing:
		poke(m.kick)
	default:
		m.writing = true
		m.running.Add(1)
		go m.writeLoop()
	}
}

// poke signals ch without blocking; the receiver re-checks what changed.
func poke(ch chan struct{}) {
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
// each when its description allows (see waitTurn), answers the
// continuation requests of the command it is sending, and ends an IDLE
// when asked to. It exits when there is nothing left to do.
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
		c.alone = c.spec.alone && !(c.spec.aloneOnlyToWait && m.session.sendsWithoutWaiting(c))
		if !m.waitTurn(c) {
			c.complete(Result{}, withCommand(m.failure(), c.name))
			return
		}
		err := m.admit(c)
		if err == nil {
			err = m.initialResponse(c)
		}
		if err != nil {
			c.complete(Result{}, err)
			continue
		}
		if !m.wrote(m.send(c)) {
			return
		}
		if c.alone && !m.finishAlone(c) {
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
		case m.idleState == idleActive && (m.idleEnding || len(m.queue) > 0):
			m.idleState = idleDoneSent
			m.lastActivity.Store(time.Now().UnixNano()) // the inactivity timeout applies again
			idle = m.idle
			m.mu.Unlock()
			return nil, idle
		case m.idle == nil && m.popQueueLocked(&c):
			m.mu.Unlock()
			return c, nil
		case m.w != nil && m.w.Buffered() > 0: // commands held back to go out together
			m.mu.Unlock()
			m.wrote(m.flush())
			continue
		}
		m.writing = false
		m.w = nil // an idle connection keeps no write buffer
		m.mu.Unlock()
		return nil, nil
	}
}

// popQueueLocked takes the first queued command into *c, if there is one.
// The caller holds m.mu.
func (m *IMAP4) popQueueLocked(c **Command) bool {
	if len(m.queue) == 0 {
		return false
	}
	*c = m.queue[0]
	m.queue[0] = nil
	m.queue = m.queue[1:]
	return true
}

// waitTurn holds c back until its description lets it go: a command that
// runs alone waits until nothing is pending; one that collects a keyless
// type waits until no pending command collects that type. It returns
// false when the connection has ended.
func (m *IMAP4) waitTurn(c *Command) bool {
	if !c.alone && len(c.collect) == 0 {
		return true
	}
	m.mu.Lock()
	now := m.mayGoLocked(c)
	m.mu.Unlock()
	if now {
		return true
	}
	m.wrote(m.flush()) // what is buffered must go before we wait for its answers
	return m.waitUntil(func() bool { return m.mayGoLocked(c) })
}

// mayGoLocked reports whether c may go on the wire now (see waitTurn).
// The caller holds m.mu.
func (m *IMAP4) mayGoLocked(c *Command) bool {
	if c.alone {
		return len(m.pending) == 0
	}
	return !m.router.busy(c)
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
// what sending it does to the session: a new selection forgets the stored
// responses, LOGOUT enters the LOGOUT state.
func (m *IMAP4) admit(c *Command) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return withCommand(m.err, c.name)
	}
	s := &m.session
	s.mu.Lock()
	defer s.mu.Unlock()
	spec := c.spec
	refusal := ErrError
	if spec.switches == tlsSwitch {
		refusal = ErrAbort // imaplib2 raises abort for STARTTLS
	}
	switch {
	case spec.valid&stateBits[s.state] == 0:
		return newError(ErrError, c.name, "command illegal in state "+s.state, nil)
	case s.readonlySeen && !spec.ignoresRO:
		return newError(ErrReadonly, c.name, "mailbox status changed to READ-ONLY", nil)
	case spec.capability != "" && !s.hasCapabilityLocked(spec.capability):
		return newError(refusal, c.name, "server does not support "+spec.capability, nil)
	case spec.switches == tlsSwitch && s.tls:
		return newError(refusal, c.name, "TLS session already established", nil)
	case spec.switches == compressSwitch && s.compressed:
		return newError(refusal, c.name, "compression already active", nil)
	case c.needsEnabled != "" && !s.enabled[c.needsEnabled]:
		return newError(ErrError, c.name, c.needsEnabled+" is not enabled: Enable(\""+c.needsEnabled+"\") first", nil)
	}
	if spec.selects {
		m.router.store.flush()
		s.readonlySeen = false
		s.examined = c.examine
		s.selected = SelectedMailbox{Name: c.selectName, ReadOnly: c.examine}
	} else {
		m.router.store.discardStatus()
	}
	if spec.logsOut {
		s.state = LOGOUT
		m.logout = c
	}
	return nil
}

// send writes c: its tag and name, its arguments and literals, and the
// answers to the continuation requests its description expects. It
// returns an error only when writing fails.
//
// A command that expects a "+" is registered as the one waiting for it
// before any byte that could make the server send it is written: the
// server may answer before the write call returns.
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
	var q quoter
	var plus, minus bool
	c.capsAtSend, q.utf8, plus, minus = m.session.forSending()
	if c.alone || c.literals() {
		c.tagged = make(chan struct{})
	}
	if len(m.pending) == 0 {
		m.lastActivity.Store(time.Now().UnixNano())
	}
	m.pending[tag] = c
	m.router.register(c)
	if c.spec.dialog == idleDialog {
		m.idle, m.idleState, m.idleEnding = c, idleSent, false
	}
	if c.spec.dialog != noDialog || c.syncLiteralAfter(-1, plus, minus) {
		m.expectContinuationLocked(c)
	}
	m.mu.Unlock()

	line := append(append(append(m.line[:0], tag...), ' '), c.name...)
	defer func() { m.line = line[:0] }()
	var shown []byte // the line as the debug log shows it
	if m.debug.enabled(debugWire) {
		shown = append(shown, line...)
	}
	for i, a := range c.args {
		a = a.forMode(q)
		line = append(append(line, ' '), a.text...)
		if !a.isLiteral {
			if shown != nil {
				shown = append(append(shown, ' '), shownArg(a)...)
			}
			continue
		}
		announced := len(line)
		if a.binary {
			line = append(line, '~')
		}
		line = strconv.AppendInt(append(line, '{'), int64(len(a.literal)), 10)
		waits := !nonSynchronizing(len(a.literal), plus, minus)
		if !waits {
			line = append(line, '+')
		}
		line = append(line, '}')
		if shown != nil {
			shown = append(append(append(shown, ' '), shownArg(a)...), line[announced:]...)
		}
		line = append(line, "\r\n"...)
		if _, err := m.writer().Write(line); err != nil {
			return err
		}
		if waits {
			if _, ok, err := m.awaitContinuation(c); !ok || err != nil {
				return err
			}
			if c.syncLiteralAfter(i, plus, minus) {
				m.expectContinuation(c)
			}
		}
		if _, err := m.writer().Write(a.literal); err != nil {
			return err
		}
		if shown != nil {
			m.debug.sent(tag, string(shown))
			shown = fmt.Appendf(shown[:0], "<%d literal bytes>%s", len(a.literal), a.closer)
		}
		line = append(line[:0], a.closer...)
	}
	if _, err := m.writer().Write(append(line, "\r\n"...)); err != nil {
		return err
	}
	if shown != nil {
		m.debug.sent(tag, string(shown))
	} else if m.debug.enabled(debugState) { // checked here: boxing c.name for event would allocate
		m.debug.event(debugState, tag, "%s", c.name)
	}
	switch {
	case c.spec.dialog == saslDialog:
		return m.authenticate(c)
	case !c.alone && m.moreQueued():
		return nil // the next command's write or flush sends it too
	}
	return m.flush()
}

// syncLiteralAfter reports whether an argument after the i-th is a
// literal that must wait for the server's "+", under the server's literal
// extensions (plus: LITERAL+, minus: LITERAL-).
func (c *Command) syncLiteralAfter(i int, plus, minus bool) bool {
	for _, a := range c.args[i+1:] {
		if a.isLiteral && !nonSynchronizing(len(a.literal), plus, minus) {
			return true
		}
	}
	return false
}

// nonSynchronizing reports whether a literal of n bytes goes as {n+},
// without waiting for the server's "+": under LITERAL+ always, under
// LITERAL- up to 4,096 bytes (RFC 7888).
func nonSynchronizing(n int, plus, minus bool) bool {
	return plus || minus && n <= 4096
}

// shownArg is an argument as the debug log shows it: secrets are hidden;
// a literal shows what precedes its announcement.
func shownArg(a arg) string {
	if a.secret {
		return "<redacted>"
	}
	return a.text
}

// moreQueued reports whether commands are waiting to be sent.
func (m *IMAP4) moreQueued() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue) > 0
}

// flush sends what the writer has buffered.
func (m *IMAP4) flush() error { return m.writer().Flush() }

// expectContinuationLocked routes the next "+" to c. The caller holds
// m.mu, and writes what provokes the "+" only afterwards.
func (m *IMAP4) expectContinuationLocked(c *Command) {
	if c.cont == nil {
		c.cont = make(chan string, 1)
	}
	m.contWaiter = c
}

// expectContinuation routes the next "+" to c.
func (m *IMAP4) expectContinuation(c *Command) {
	m.mu.Lock()
	m.expectContinuationLocked(c)
	m.mu.Unlock()
}

// awaitContinuation flushes and waits for the server's "+" for c, and
// returns its text. It reports false if c was answered instead (the server
// refused it) or the connection ended.
func (m *IMAP4) awaitContinuation(c *Command) (string, bool, error) {
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

// finishAlone waits until c, which runs alone, has completed, running its
// follow-up on the way: the transport switch of STARTTLS and COMPRESS, and
// learning the capabilities after a login that did not announce them. It
// returns false when the connection has ended; c has then completed too.
func (m *IMAP4) finishAlone(c *Command) bool {
	if c.spec.dialog == idleDialog {
		return m.idleStarted(c)
	}
	select {
	case <-c.tagged:
	case <-m.closed:
		return false
	}
	if c.status != nil { // set by the reader before it closed c.tagged
		c.complete(m.followUp(c))
	}
	select {
	case <-c.done:
		return true
	case <-m.closed:
		return false
	}
}

// followUp runs the step that completes c after its tagged OK.
func (m *IMAP4) followUp(c *Command) (Result, error) {
	if c.spec.switches != noSwitch {
		if err := m.switchTransport(c); err != nil {
			return Result{}, err
		}
	}
	if c.needsCapabilities() {
		if _, err := m.capabilityNow().Wait(); err != nil {
			return Result{}, withCommand(err, c.name)
		}
	}
	return Result{Type: "OK", Data: []Datum{{Text: c.status.text}}, Text: c.status.text}, nil
}

// needsCapabilities reports whether c must ask for the capabilities after
// its tagged OK: always after STARTTLS (what the server said before TLS is
// not to be trusted), after a login only when the server did not announce
// them meanwhile.
func (c *Command) needsCapabilities() bool {
	if c.spec.switches == tlsSwitch {
		return true
	}
	return c.spec.learnsCaps && c.capsAtSend == c.m.session.capabilityVersion()
}

// switchTransport is the one routine that changes the connection's
// streams, for STARTTLS and COMPRESS. It runs on the writer after the
// command's tagged OK, while the reader waits for it (pauseForSwitch) and
// no other command is in flight: it builds the new streams, then lets the
// reader go on with them. A failure ends the connection.
func (m *IMAP4) switchTransport(c *Command) error {
	var err error
	switch c.spec.switches {
	case tlsSwitch:
		err = m.upgradeTLS(c)
	case compressSwitch:
		err = m.startCompression()
	}
	if err != nil {
		m.fail(newError(ErrAbort, c.name, "cannot switch the connection", err))
		return withCommand(m.failure(), c.name)
	}
	select {
	case m.resume <- struct{}{}:
		return nil
	case <-m.closed:
		return withCommand(m.failure(), c.name)
	}
}

// pauseForSwitch holds the reader while the writer switches the transport;
// it returns false when the connection has ended instead.
func (m *IMAP4) pauseForSwitch() bool {
	select {
	case <-m.resume:
		return true
	case <-m.closed:
		return false
	}
}

// capabilityNow sends CAPABILITY from the writer itself, ahead of the
// queue, and flushes it even when commands are queued: the writer waits
// for its answer before it sends anything else.
func (m *IMAP4) capabilityNow() *Command {
	c := m.newCommand(cmdCapability)
	if m.wrote(m.send(c)) {
		m.wrote(m.flush())
	}
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
		if !m.dispatch(r) {
			return
		}
		if r.kind != untaggedResponse && !r.kept { // untagged data lives on in Results
			m.rr.spare = r
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
		m.traceReceived("", r)
		return m.untagged(r)
	case taggedResponse:
		m.traceReceived(r.tag, r)
		return m.tagged(r)
	}
	m.traceReceived("", r)
	m.debug.event(debugState, "", "unrecognised line from the server ignored: %q", truncate(r.text))
	return true
}

// traceReceived shows a response's lines in the debug log as they were
// received; literal bodies show as their announcement.
func (m *IMAP4) traceReceived(tag string, r *response) {
	if !m.debug.enabled(debugWire) {
		return
	}
	m.debug.received(tag, r.line)
	for _, d := range r.data[min(1, len(r.data)):] {
		if d.Text != "" {
			m.debug.received(tag, d.Text)
		}
	}
}

// continuation hands a "+" to the command waiting for it. Untagged lines
// that arrive before it never cancel that wait; a "+" that no command
// waits for is ignored.
func (m *IMAP4) continuation(r *response) {
	m.mu.Lock()
	c := m.contWaiter
	m.contWaiter = nil
	if c != nil && c == m.idle {
		m.startIdleLocked(c)
	}
	m.mu.Unlock()
	switch {
	case c == nil:
		m.debug.received("", r.line)
		m.debug.event(debugState, "", "unexpected continuation request ignored: %q", truncate(r.text))
		return
	case c.spec.dialog == saslDialog:
		m.debug.received(c.tag, "+ <redacted>")
	default:
		m.debug.received(c.tag, r.line)
	}
	c.cont <- r.text
}

// untagged routes an untagged response to the command it belongs to, or
// stores it, and applies what it says to the session and to IDLE. A BYE
// outside LOGOUT ends the connection.
func (m *IMAP4) untagged(r *response) bool {
	m.mu.Lock()
	owner := r.owner
	if owner == nil {
		owner = m.router.route(r.typ, r.num, r.data)
	}
	m.session.observe(r, r.code == "READ-ONLY" && m.selectingLocked())
	if m.idle != nil && r.typ != "OK" {
		m.endIdleLocked("server data")
	}
	if owner != nil && owner.each != nil {
		m.mu.Unlock()
		m.runHandler(func() { m.callbacks.protect(func() { owner.each(r.data) }) })
		return true
	}
	m.router.arrivals++
	e := entry{seq: m.router.arrivals, typ: r.typ, data: r.data}
	switch {
	case owner != nil:
		owner.collected = append(owner.collected, e)
	case isStatus(r.typ) && r.code != "":
		m.router.keepCode(r.code, r.detail)
		m.router.store.add(e)
		m.router.store.add(entry{seq: e.seq, typ: r.code, data: []Datum{{Text: r.detail}}})
	default:
		m.router.store.add(e)
	}
	loggingOut := m.logout != nil
	m.mu.Unlock()
	if owner == nil && m.opts.Unsolicited != nil {
		m.callbacks.run(callback{unsolicited: m.opts.Unsolicited, response: Untagged{Type: r.typ, Data: r.data}})
	}
	if r.typ == "BYE" && !loggingOut {
		m.fail(newError(ErrAbort, "", "server said BYE: "+r.text, nil))
		return false
	}
	return true
}

// selectingLocked reports whether a read-write SELECT is pending. The
// caller holds m.mu.
func (m *IMAP4) selectingLocked() bool {
	for _, c := range m.pending {
		if c.spec.selects && !c.examine {
			return true
		}
	}
	return false
}

// streamed reports whether a FETCH response, of which only the first line
// has been read, belongs to a FetchFunc command, and records that command.
// Its literals may then be read into a reused buffer.
func (m *IMAP4) streamed(r *response, firstLine string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.router.streams == 0 {
		return false
	}
	if c := m.router.route("FETCH", r.num, []Datum{{Text: firstLine}}); c != nil && c.each != nil {
		r.owner = c
		return true
	}
	return false
}

// tagged completes the command that r answers.
func (m *IMAP4) tagged(r *response) bool {
	m.mu.Lock()
	c := m.pending[r.tag]
	if c == nil {
		m.mu.Unlock()
		m.debug.event(debugState, "", "response for unknown tag %s ignored: %s %s", r.tag, r.typ, r.text)
		return true
	}
	delete(m.pending, r.tag)
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	if m.idle == c {
		m.idle, m.idleState, m.idleEnding = nil, idleNone, false
	}
	if m.contWaiter == c {
		m.contWaiter = nil
	}
	readonly := m.session.finish(c.spec, r, c.spec.selects && !c.examine)
	if r.code != "" {
		m.router.arrivals++
		m.router.store.add(entry{seq: m.router.arrivals, typ: r.code, data: []Datum{{Text: r.detail}}})
	}
	res, err := m.resultLocked(c, r, readonly)
	m.router.unregister(c)
	var unproven error
	if err == nil && r.typ == "OK" {
		unproven = c.unprovenLocked()
	}
	if unproven != nil {
		err = unproven
	}
	followUp := err == nil && r.typ == "OK" && (c.spec.switches != noSwitch || c.needsCapabilities())
	if followUp || c.spec.logsOut {
		c.status, r.kept = r, true
		m.finishing = c
	}
	m.mu.Unlock()
	poke(m.kick)
	if r.typ == "BAD" {
		m.debug.dump()
	}
	switch {
	case c.spec.logsOut:
		m.fail(newError(ErrAbort, "", "connection closed after LOGOUT", nil))
		return false
	case followUp:
		close(c.tagged) // the writer runs the follow-up
		if c.spec.switches != noSwitch {
			return m.pauseForSwitch()
		}
		return true
	}
	if unproven != nil { // logged in to a server that may be an impostor: go no further, before c reports it
		m.fail(newError(ErrAbort, "", "connection closed: the server did not prove its identity in "+c.mechanism, nil))
	}
	c.complete(res, err)
	if c.tagged != nil {
		close(c.tagged)
	}
	return unproven == nil
}

// resultLocked turns c's tagged response r into its Result or error;
// readonly reports a read-write selection that the server made read-only.
// What a failed command collected becomes unsolicited. The caller holds
// m.mu.
func (m *IMAP4) resultLocked(c *Command, r *response, readonly bool) (Result, error) {
	if r.typ != "OK" && len(c.collected) > 0 {
		m.router.store.putBack(c.collected)
		c.collected = nil
	}
	switch {
	case r.typ == "BAD":
		return Result{}, c.failure("BAD " + r.text)
	case r.typ == "NO" && c.spec.failsOnNO:
		return Result{}, c.failure("NO " + r.text)
	case readonly:
		return Result{}, newError(ErrReadonly, c.name, "mailbox is not writable", nil)
	case r.typ == "NO" || len(c.collect) == 0:
		return Result{Type: r.typ, Data: []Datum{{Text: r.text}}, Text: r.text, keptCode: c.keptCode}, nil
	}
	return Result{Type: r.typ, Data: c.collectedData(), Text: r.text, keptCode: c.keptCode}, nil
}

// fail ends the connection for the reason err (once; later calls do
// nothing): the transport is closed and every command that has not
// completed (queued, pending, or answered and finishing on the writer)
// completes with err. LOGOUT completes when the goroutines have stopped.
func (m *IMAP4) fail(err error) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	m.err = err
	m.session.setState(LOGOUT)
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
	if m.finishing != nil && m.finishing != m.logout {
		victims = append(victims, m.finishing)
	}
	if m.idle != nil && m.idle.idleTimer != nil {
		m.idle.idleTimer.Stop()
	}
	m.pending, m.queue, m.contWaiter, m.idle, m.finishing = map[string]*Command{}, nil, nil, nil, nil
	loggingOut := m.logout != nil
	m.mu.Unlock()

	m.transport.Close()
	if !loggingOut {
		m.debug.event(debugState, "", "connection ended: %v", err)
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
	logout, err := m.logout, m.err
	m.mu.Unlock()
	m.session.mu.Lock()
	bye, byeSeen := m.session.bye, m.session.byeSeen
	m.session.mu.Unlock()
	if logout != nil {
		switch {
		case byeSeen:
			logout.complete(Result{Type: "BYE", Data: []Datum{{Text: bye}}, Text: logout.statusText()}, nil)
		case logout.status != nil && logout.status.typ == "BAD":
			logout.complete(Result{}, logout.failure("BAD "+logout.status.text))
		case logout.status != nil:
			logout.complete(Result{Type: logout.status.typ, Data: []Datum{{Text: logout.status.text}}, Text: logout.status.text}, nil)
		default:
			logout.complete(Result{}, withCommand(err, "LOGOUT"))
		}
	}
	close(m.done)
	m.callbacks.stop()
}

// statusText returns the text of c's tagged response, or "" if none came.
func (c *Command) statusText() string {
	if c.status == nil {
		return ""
	}
	return c.status.text
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
// outstanding, no IDLE active and nothing heard from the server for
// Options.Timeout, the connection is aborted; otherwise the timer is armed
// again. Only bytes from the server count: a client that keeps writing to a
// server that stopped answering is still waiting.
func (m *IMAP4) checkActivity() {
	limit := m.opts.Timeout
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	quiet := time.Since(time.Unix(0, m.lastActivity.Load()))
	waiting := len(m.pending) > 0 && m.idleState != idleActive
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
