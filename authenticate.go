package imaplib2

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Authenticator answers the challenges of one SASL exchange (what
// Authenticate takes): it is called with each decoded server challenge and
// returns the response, which is sent base64-encoded; an error cancels the
// exchange. For a mechanism in which the client speaks first, it is called
// first with a nil challenge for the initial response. An Authenticator
// serves one exchange: make a new one for each Authenticate. It runs on the
// connection's writer goroutine: it may call Shutdown, but must not wait
// for commands (nor call Logout, which waits).
type Authenticator = func(challenge []byte) (response []byte, err error)

// clientFirst reports whether the client speaks first in the SASL
// mechanism: its initial response goes on the AUTHENTICATE line when the
// server offers SASL-IR (RFC 4959), or answers the server's first, empty,
// challenge.
func clientFirst(mechanism string) bool {
	switch mechanism {
	case "PLAIN", "EXTERNAL", "XOAUTH2", "OAUTHBEARER", "ANONYMOUS":
		return true
	}
	return strings.HasPrefix(mechanism, "SCRAM-")
}

// initialResponse puts the initial response of a client-first exchange on
// the AUTHENTICATE line when the server offers SASL-IR ("=" for an empty
// one). It runs on the writer before c is sent; an error from the
// Authenticator cancels c, and nothing is sent.
func (m *IMAP4) initialResponse(c *Command) error {
	if c.spec.dialog != saslDialog || !c.clientFirst || !m.session.hasCapability("SASL-IR") {
		return nil
	}
	var response []byte
	var err error
	m.runHandler(func() { response, err = c.auth(nil) })
	if err != nil {
		return newError(ErrError, c.name, "authentication cancelled", err)
	}
	c.answered = true
	ir := "="
	if len(response) > 0 {
		ir = base64.StdEncoding.EncodeToString(response)
	}
	c.args = append(c.args, arg{text: ir, secret: true})
	return nil
}

// authenticate answers the server's AUTHENTICATE challenges for c on the
// writer goroutine until the tagged response arrives. Neither challenges
// nor answers are ever shown in debug output.
func (m *IMAP4) authenticate(c *Command) error {
	for {
		text, ok, err := m.awaitContinuation(c)
		if !ok || err != nil {
			return err
		}
		challenge := decodeChallenge(text)
		first := c.clientFirst && !c.answered
		if first {
			challenge = nil // the server's empty challenge asks for the initial response
		}
		c.answered = true
		answer := "*"
		var response []byte
		var authErr error
		m.runHandler(func() { response, authErr = c.auth(challenge) })
		if authErr != nil {
			m.debug.event(debugState, c.tag, "AUTHENTICATE cancelled: %v", authErr)
		} else {
			answer = base64.StdEncoding.EncodeToString(response)
		}
		m.mu.Lock() // the reader reads them when the tagged reply comes
		if !first {
			c.lastChallenge = challenge
			c.challenges++
		}
		if authErr != nil {
			c.authErr = authErr
		}
		m.mu.Unlock()
		m.expectContinuation(c) // before the answer: the server may reply at once
		m.debug.sent(c.tag, "<redacted>")
		if _, err := m.writer().WriteString(answer + "\r\n"); err != nil {
			return err
		}
	}
}

// failure returns the ErrError of c's tagged NO or BAD, text. For
// AUTHENTICATE the text ends with the server's last challenge, when it is
// text, and the Authenticator's error is the cause.
func (c *Command) failure(text string) error {
	e := newError(ErrError, c.name, text, c.authErr)
	if said := c.saslFailure(); said != "" {
		e.Text += said
		e.said = said
	}
	return e
}

// debugText is err as the debug log shows it: without the SASL challenge
// that a failed AUTHENTICATE's error quotes, as challenges never appear in
// debug output.
func debugText(err error) string {
	var e *Error
	if errors.As(err, &e) && e.said != "" {
		return strings.Replace(err.Error(), e.said, " (server said: <redacted>)", 1)
	}
	return err.Error()
}

// unprovenLocked returns why c, an AUTHENTICATE the server accepted, is
// not to be trusted, or nil: the client cancelled the exchange (its
// Authenticator refused a challenge, as SCRAM refuses a wrong server
// signature), or a SCRAM exchange (RFC 5802) ended before the server sent
// its signature, so that the Authenticator could not check it. The caller
// holds m.mu.
func (c *Command) unprovenLocked() error {
	switch {
	case c.spec.dialog != saslDialog:
		return nil
	case c.authErr != nil:
		return newError(ErrError, c.name, "the server accepted "+c.mechanism+" after the client cancelled it", c.authErr)
	case strings.HasPrefix(c.mechanism, "SCRAM-") && c.challenges < 2:
		return newError(ErrError, c.name, "the server accepted "+c.mechanism+" without proving it knows the password (no server signature)", nil)
	}
	return nil
}

// saslFailure returns what a failed AUTHENTICATE adds to its error: the
// server's last challenge, when it is text (the error that XOAUTH2 and
// OAUTHBEARER send as a challenge, RFC 7628; Gmail's ends with a newline,
// which is dropped), or "".
func (c *Command) saslFailure() string {
	text := strings.TrimSpace(string(c.lastChallenge))
	if text == "" || !utf8.ValidString(text) || strings.IndexFunc(text, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0 {
		return ""
	}
	return " (server said: " + text + ")"
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
