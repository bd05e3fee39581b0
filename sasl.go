package imaplib2

import (
	"encoding/base64"
)

// authenticate answers the server's AUTHENTICATE challenges for c on the
// writer goroutine until the tagged response arrives. The answers are
// never shown in debug output.
func (m *IMAP4) authenticate(c *Command) error {
	for {
		challenge, ok, err := m.awaitContinuation(c)
		if !ok || err != nil {
			return err
		}
		answer := "*"
		if response, err := c.auth(decodeChallenge(challenge)); err != nil {
			m.debug.event(debugState, c.tag, "AUTHENTICATE cancelled: %v", err)
		} else {
			answer = base64.StdEncoding.EncodeToString(response)
		}
		m.expectContinuation(c) // before the answer: the server may reply at once
		m.debug.sent(c.tag, "<redacted>")
		if _, err := m.w.WriteString(answer + "\r\n"); err != nil {
			return err
		}
	}
}

// decodeChallenge decodes a base64 challenge; text that is not base64 (some
// servers send "+ go ahead") is an empty challenge.
func decodeChallenge(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return []byte{}
	}
	return b
}
