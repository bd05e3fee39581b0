package imaplib2

import (
	"slices"
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

	mu           sync.Mutex
	state        string
	caps         string          // the capabilities, upper case, separated by single spaces
	capsVersion  int             // counts capability updates
	utf8         bool            // the server confirmed ENABLE UTF8=ACCEPT
	enabled      map[string]bool // what the server confirmed in ENABLED (RFC 5161)
	tls          bool            // TLS is active
	compressed   bool            // COMPRESS DEFLATE is active
	literalPlus  bool            // caps offers LITERAL+ (RFC 7888)
	literalMinus bool            // caps offers LITERAL- (RFC 7888)

	examined     bool // the selection was asked for read-only (EXAMINE)
	readonlySeen bool // READ-ONLY announced on a read-write selection
	selected     SelectedMailbox

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
	if name == "" || strings.IndexByte(name, ' ') >= 0 {
		return false
	}
	for from := 0; ; {
		i := strings.Index(s.caps[from:], name)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(name)
		if (start == 0 || s.caps[start-1] == ' ') && (end == len(s.caps) || s.caps[end] == ' ') {
			return true
		}
		from = start + 1
	}
}

// hasCapability reports whether the server announced name.
func (s *imapSession) hasCapability(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hasCapabilityLocked(name)
}

// forSending returns, in one look, what sending a command needs: the
// number of capability updates so far, UTF-8 mode, and whether the server
// offers LITERAL+ and LITERAL-.
func (s *imapSession) forSending() (capsVersion int, utf8, plus, minus bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.capsVersion, s.utf8, s.literalPlus, s.literalMinus
}

// sendsWithoutWaiting reports whether every literal of c goes without
// waiting for a "+".
func (s *imapSession) sendsWithoutWaiting(c *Command) bool {
	s.mu.Lock()
	plus, minus := s.literalPlus, s.literalMinus
	s.mu.Unlock()
	return !c.syncLiteralAfter(-1, plus, minus)
}

// setCapabilitiesLocked records a capability list. The caller holds s.mu.
func (s *imapSession) setCapabilitiesLocked(list string) {
	s.caps = strings.Join(strings.Fields(strings.ToUpper(list)), " ")
	s.capsVersion++
	s.literalPlus, s.literalMinus = s.hasCapabilityLocked("LITERAL+"), s.hasCapabilityLocked("LITERAL-")
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
		for _, ext := range strings.Fields(strings.ToUpper(textOf(r.data))) {
			if s.enabled == nil {
				s.enabled = map[string]bool{}
			}
			s.enabled[ext] = true
			s.utf8 = s.utf8 || ext == "UTF8=ACCEPT"
		}
	case "EXISTS":
		s.selected.Exists = r.num
	case "RECENT":
		s.selected.Recent = r.num
	case "EXPUNGE":
		s.selected.Exists = max(s.selected.Exists, 1) - 1
	case "VANISHED":
		s.selected.vanished(textOf(r.data))
	case "FETCH":
		if s.selected.HighestModSeq != 0 { // CONDSTORE is on: follow the MODSEQ of changes
			s.selected.HighestModSeq = max(s.selected.HighestModSeq, fetchModSeq(r.data))
		}
	case "FLAGS":
		if flags, err := newTextDecoder(textOf(r.data)).flags(); err == nil {
			s.selected.Flags = flags
		}
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
		s.selected.ReadOnly = true
	case "READ-WRITE":
		s.selected.ReadOnly = false
	case "UIDVALIDITY":
		s.selected.UIDValidity = codeNumber(r.detail)
	case "UIDNEXT":
		s.selected.UIDNext = codeNumber(r.detail)
	case "UNSEEN":
		s.selected.Unseen = codeNumber(r.detail)
	case "HIGHESTMODSEQ":
		if n, err := newTextDecoder(r.detail).number64(); err == nil {
			s.selected.HighestModSeq = n
		}
	case "PERMANENTFLAGS":
		if flags, err := newTextDecoder(r.detail).flags(); err == nil {
			s.selected.PermanentFlags = flags
		}
	}
}

// codeNumber returns the number a response code carries, or 0.
func codeNumber(detail string) uint32 {
	n, _ := newTextDecoder(detail).number()
	return n
}

// SelectedMailbox is what the connection knows of the selected mailbox,
// kept current by the reader from every response, whether a command
// collects it or not (see IMAP4.Selected).
type SelectedMailbox struct {
	Name                  string // as given to SELECT or EXAMINE
	ReadOnly              bool
	Exists, Recent        uint32
	UIDValidity, UIDNext  uint32
	Unseen                uint32   // [UNSEEN n]: the number of the first unseen message
	Flags, PermanentFlags []string // FLAGS and [PERMANENTFLAGS (...)]
	HighestModSeq         uint64   // [HIGHESTMODSEQ n] (CONDSTORE, RFC 7162), then the largest MODSEQ of a FETCH since
}

// vanished counts the messages of a VANISHED response out of Exists; a
// VANISHED (EARLIER) reports messages that were gone before the selection
// and changes nothing.
func (sel *SelectedMailbox) vanished(data string) {
	if strings.HasPrefix(data, "(") {
		return
	}
	set, err := ParseNumSet(data)
	if err != nil {
		return
	}
	var n uint64
	for _, r := range set {
		if r.Start == 0 || r.Stop == 0 { // "*" names no count; VANISHED never sends it
			continue
		}
		lo, hi := min(r.Start, r.Stop), max(r.Start, r.Stop)
		n += uint64(hi-lo) + 1
	}
	sel.Exists -= uint32(min(uint64(sel.Exists), n))
}

// Selected returns a snapshot of the selected mailbox, and false when no
// mailbox is selected. The reader keeps it current as responses arrive:
// EXISTS, EXPUNGE and VANISHED change the counts, FLAGS and the codes of
// untagged OK responses (UIDVALIDITY, UIDNEXT, UNSEEN, PERMANENTFLAGS,
// HIGHESTMODSEQ) and the tagged [READ-ONLY]/[READ-WRITE] the rest; under
// CONDSTORE, HighestModSeq also follows the MODSEQ of FETCH responses, so
// that a sync tool can resume from it.
func (m *IMAP4) Selected() (SelectedMailbox, bool) {
	s := &m.session
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != SELECTED {
		return SelectedMailbox{}, false
	}
	sel := s.selected
	sel.Flags = slices.Clone(sel.Flags)
	sel.PermanentFlags = slices.Clone(sel.PermanentFlags)
	return sel, true
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
