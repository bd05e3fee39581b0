package imaplib2

import "time"

// IDLE needs no goroutine of its own while the server idles. The writer
// sends IDLE and waits for the server's "+" (idleStarted); the reader, on
// that "+", arms the IDLE's timer (startIdleLocked). The writer then stops
// if it has nothing else to do. Whatever ends the IDLE — the timer, data
// from the server (endIdleLocked), even data that arrives before the "+",
// or a command issued (enqueue) — wakes the writer, which sends DONE
// (endIdle) and waits for the IDLE to complete before it sends anything
// else.

// idleState is where the IDLE command in flight is.
type idleState uint8

const (
	idleNone     idleState = iota
	idleSent               // sent, the server's "+" not yet here
	idleActive             // the server idles
	idleDoneSent           // DONE sent, the tagged reply not yet here
)

// idleStarted waits, on the writer goroutine, until the server accepts or
// refuses the IDLE command c. It returns false when the connection has
// ended.
func (m *IMAP4) idleStarted(c *Command) bool {
	select {
	case <-c.cont:
		m.debug.event(debugIdle, c.tag, "IDLE started, timeout %v", c.idleFor)
		return true
	case <-c.tagged: // refused
		return true
	case <-m.closed:
		return false
	}
}

// startIdleLocked records, when the server's "+" arrives, that it idles
// for c, and arms c's timeout. If a reason to end the IDLE came first, or
// a command waits, the writer ends it at once. The caller holds m.mu.
func (m *IMAP4) startIdleLocked(c *Command) {
	m.idleState = idleActive
	c.idleTimer = time.AfterFunc(c.idleFor, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.idle == c && m.idleState == idleActive {
			m.router.arrivals++
			m.router.store.add(entry{seq: m.router.arrivals, typ: "IDLE", data: []Datum{{Text: "TIMEOUT"}}})
			m.endIdleLocked("timeout")
		}
	})
	if m.idleEnding || len(m.queue) > 0 {
		m.wakeWriterLocked()
	}
}

// endIdleLocked asks for the IDLE in flight to end, now or, if the server
// has not accepted it yet, as soon as it does. The caller holds m.mu.
func (m *IMAP4) endIdleLocked(reason string) {
	if !m.idleEnding {
		m.debug.event(debugIdle, m.idle.tag, "IDLE ends: %s", reason)
	}
	m.idleEnding = true
	if m.idleState == idleActive {
		m.wakeWriterLocked()
	}
}

// endIdle sends DONE for the IDLE command c on the writer goroutine and
// waits for c to complete. It returns false when the connection has ended.
func (m *IMAP4) endIdle(c *Command) bool {
	m.debug.sent(c.tag, "DONE")
	_, err := m.writer().WriteString("DONE\r\n")
	if err == nil {
		err = m.flush()
	}
	if !m.wrote(err) {
		return false
	}
	select {
	case <-c.done:
		return true
	case <-m.closed:
		return false
	}
}
