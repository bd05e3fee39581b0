package imaplib2

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A capability is one whole word of the list, never a part of one.
func TestHasCapability(t *testing.T) {
	var s imapSession
	s.setCapabilitiesLocked("imap4rev1  LITERAL+ AUTH=PLAIN\tID X-LITERAL+")
	for name, want := range map[string]bool{
		"IMAP4REV1": true, "LITERAL+": true, "AUTH=PLAIN": true, "ID": true, "X-LITERAL+": true,
		"IMAP4": false, "REV1": false, "LITERAL": false, "AUTH": false, "PLAIN": false,
		"I": false, "X-LITERAL": false, "LITERAL-": false, "": false, "LITERAL+ AUTH=PLAIN": false,
	} {
		assert.Equal(t, want, s.hasCapabilityLocked(name), "capability %q", name)
	}
	assert.Equal(t, "IMAP4REV1 LITERAL+ AUTH=PLAIN ID X-LITERAL+", s.caps)
}
