package imaplib2

import "time"

// IDLE needs no goroutine of its own while the server idles. The writer
// sends IDLE and waits for the server's "+" (idleStarted); the reader, on
// that "+", arms the IDLE's timer (startIdle). The writer then stops if it
// has nothing else to do. Whatever ends the IDLE — the timer, data from the
// server (askEndIdle), or a command issued (enqueue) — wakes the writer,
// which sends DONE (endIdle) and waits for the IDLE to complete before it
// sends anything else.

// idleStarted waits, on the writer goroutine, until the server accepts or
// refuses the IDLE command c. It returns false when the connection has
// ended.
func (m *IMAP4) idleStarted(c *Command) bool {
	select {
	case <-c.cont:
		m.debug.logf(debugIdle, "writer", "%s IDLE started, timeout %v", c.tag, c.idleFor)
		return true
	case <-c.tagged: // refused
		return true
	case <-m.closed:
		return false
	}
}

// startIdle records, when the server's "+" arrives, that it idles for c
// and arms c's timeout. The caller holds m.mu.
func (m *IMAP4) startIdle(c *Command) {
	m.idling, m.idleEnding = c, false
	c.idleTimer = time.AfterFunc(c.idleFor, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.idling == c {
			m.store.add("IDLE", 0, []Datum{{Text: "TIMEOUT"}}, nil)
			m.askEndIdle("timeout")
		}
	})
}

// askEndIdle asks the writer to end the current IDLE. The caller holds
// m.mu.
func (m *IMAP4) askEndIdle(reason string) {
	if !m.idleEnding {
		m.debug.logf(debugIdle, "reader", "%s IDLE ends: %s", m.idling.tag, reason)
	}
	m.idleEnding = true
	m.wakeWriter()
}

// endIdle sends DONE for the IDLE command c on the writer goroutine and
// waits for c to complete. It returns false when the connection has ended.
func (m *IMAP4) endIdle(c *Command) bool {
	m.debug.logf(debugWire, "writer", "> DONE")
	_, err := m.w.WriteString("DONE\r\n")
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
