package imaplib2

import "time"

// idle runs an IDLE command on the writer goroutine once its line is sent:
// it waits for the server's "+", then for a reason to end the IDLE (the
// timeout, data from the server, another command issued), sends DONE and
// waits for the tagged response. It returns false when the connection has
// ended.
func (m *IMAP4) idle(c *Command) bool {
	select {
	case <-c.cont: // the reader has set m.idling
	case <-c.tagged: // refused
		return true
	case <-m.closed:
		return false
	}
	m.debug.logf(debugIdle, "writer", "%s IDLE started, timeout %v", c.tag, c.idleFor)
	timer := time.NewTimer(c.idleFor)
	defer timer.Stop()
	for reason := ""; reason == ""; {
		select {
		case <-timer.C:
			reason = "timeout"
			m.mu.Lock()
			m.store.add("IDLE", 0, []Datum{{Text: "TIMEOUT"}}, nil)
			m.mu.Unlock()
		case <-m.idleEnd:
			reason = "server data"
		case <-m.kick:
			m.mu.Lock()
			if len(m.queue) > 0 {
				reason = "command issued"
			}
			m.mu.Unlock()
		case <-c.tagged: // the server ended it
			m.endIdle()
			return true
		case <-m.closed:
			return false
		}
		if reason != "" {
			m.debug.logf(debugIdle, "writer", "%s IDLE ends: %s", c.tag, reason)
		}
	}
	m.endIdle()
	m.debug.logf(debugWire, "writer", "> DONE")
	if _, err := m.w.WriteString("DONE\r\n"); err != nil {
		m.fail(newError(ErrAbort, "", "writing to the server", err))
		return false
	}
	if err := m.flush(); err != nil {
		m.fail(newError(ErrAbort, "", "writing to the server", err))
		return false
	}
	select {
	case <-c.done:
		return true
	case <-m.closed:
		return false
	}
}

// endIdle records that the server no longer idles, so that the inactivity
// timeout applies again.
func (m *IMAP4) endIdle() {
	m.mu.Lock()
	m.idling = nil
	m.lastActivity.Store(time.Now().UnixNano())
	m.mu.Unlock()
}
