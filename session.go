package imaplib2

import (
	"strings"
	"sync"
)

// imapSession is what the connection knows about the server and the IMAP
// session: the state, the capabilities, UTF-8 mode, the layers in force and
// the selected mailbox.
//
// It is written by the reader goroutine as responses arrive (and by start
// before the reader runs); the writer writes only what admitting a command
// does (LOGOUT's state, a new selection). Everyone else reads it through the
// accessors, under mu. Lock order: IMAP4.mu before imapSession.mu.
type imapSession struct {
	debug *debugLog

	mu          sync.Mutex
	state       string
	caps        []string
	capsVersion int  // counts capability updates
	utf8        bool // the server confirmed ENABLE UTF8=ACCEPT
	tls         bool // TLS is active
	compressed  bool // COMPRESS DEFLATE is active

	examined     bool   // the selection was asked for read-only (EXAMINE)
	readonlySeen bool   // READ-ONLY announced on a read-write selection
	exists       uint32 // the selected mailbox's EXISTS count

	bye     string // the text of the server's BYE
	byeSeen bool
}

// currentState returns the state.
func (s *imapSession) currentState() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// utf8Mode reports whether UTF-8 mode (RFC 6855) is in force.
func (s *imapSession) utf8Mode() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.utf8
}

// setStateLocked changes the state. The caller holds s.mu.
func (s *imapSession) setStateLocked(state string) {
	if s.state != state {
		s.debug.event(debugState, "", "state => %s", state)
	}
	s.state = state
}

// setState changes the state.
func (s *imapSession) setState(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setStateLocked(state)
}

// hasCapabilityLocked reports whether the server announced name. The
// caller holds s.mu.
func (s *imapSession) hasCapabilityLocked(name string) bool {
	for _, c := range s.caps {
		if c == name {
			return true
		}
	}
	return false
}

// hasCapability reports whether the server announced name.
func (s *imapSession) hasCapability(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hasCapabilityLocked(name)
}

// setCapabilitiesLocked records a capability list. The caller holds s.mu.
func (s *imapSession) setCapabilitiesLocked(list string) {
	s.caps = strings.Fields(strings.ToUpper(list))
	s.capsVersion++
}

// capabilityVersion returns the number of capability updates so far.
func (s *imapSession) capabilityVersion() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.capsVersion
}

// observe applies what an untagged response says about the session: new
// capabilities, UTF-8 mode, the EXISTS count, READ-ONLY, BYE. selecting
// reports whether a read-write SELECT is pending. It runs on the reader.
func (s *imapSession) observe(r *response, selecting bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.typ {
	case "CAPABILITY":
		s.setCapabilitiesLocked(textOf(r.data))
	case "ENABLED": // RFC 6855: UTF-8 only once the server says so
		for _, ext := range strings.Fields(textOf(r.data)) {
			s.utf8 = s.utf8 || strings.EqualFold(ext, "UTF8=ACCEPT")
		}
	case "EXISTS":
		s.exists = r.num
	case "BYE":
		s.bye, s.byeSeen = r.text, true
	}
	s.noteCodeLocked(r, selecting)
}

// noteCodeLocked applies what a response code says about the session;
// selecting reports whether r completes or arrives during a read-write
// SELECT. The caller holds s.mu.
func (s *imapSession) noteCodeLocked(r *response, selecting bool) {
	switch r.code {
	case "CAPABILITY":
		s.setCapabilitiesLocked(r.detail)
	case "READ-ONLY":
		if !s.examined && (s.state == SELECTED || selecting) {
			s.readonlySeen = true
		}
	}
}

// finish applies the effect of the tagged response r of a command of spec
// (selecting: a read-write SELECT) on the state, and reports whether the
// command made a read-write selection that the server made read-only.
func (s *imapSession) finish(spec *commandSpec, r *response, selecting bool) (readonly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteCodeLocked(r, selecting)
	switch {
	case r.typ == "OK" && spec.onOK != "":
		s.setStateLocked(spec.onOK)
	case r.typ == "NO" && spec.onNO != "" && s.state == SELECTED:
		s.setStateLocked(spec.onNO)
	}
	return spec.selects && r.typ == "OK" && s.readonlySeen
}
