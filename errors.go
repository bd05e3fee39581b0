package imaplib2

import "strings"

// The three error classes of imaplib2. Every error returned by this package
// matches at least one of them with errors.Is:
//
//	errors.Is(err, ErrError)    // true for every error of this package
//	errors.Is(err, ErrAbort)    // true for aborts and read-only errors
//	errors.Is(err, ErrReadonly) // true only for read-only errors
var (
	// ErrError reports a program or protocol error: a command issued in the
	// wrong state, a bad argument, a tagged BAD, a failed LOGIN.
	ErrError error = &class{name: "error"}

	// ErrAbort reports that the connection is gone or unusable: the server
	// said BYE, the connection broke or timed out. Reconnect and retry.
	ErrAbort error = &class{name: "abort", parent: ErrError}

	// ErrReadonly reports that the selected mailbox became read-only.
	// Select it again and retry.
	ErrReadonly error = &class{name: "readonly", parent: ErrAbort}
)

// class is one of the sentinel error classes; each wraps its parent so that
// errors.Is walks up from ErrReadonly to ErrAbort to ErrError.
type class struct {
	name   string
	parent error
}

func (c *class) Error() string { return "imaplib2: " + c.name }
func (c *class) Unwrap() error { return c.parent }

// Error is the concrete type of the errors this package returns.
// Its Class is ErrError, ErrAbort or ErrReadonly.
type Error struct {
	Class   error  // ErrError, ErrAbort or ErrReadonly
	Command string // the IMAP command that failed, e.g. "SELECT"; "" if none
	Text    string // what happened, e.g. the server's response text
	Err     error  // the underlying cause, if any

	said string // the end of Text that quotes a SASL challenge, which the debug log leaves out
}

// Error formats the error as "imaplib2: COMMAND: text: cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("imaplib2: ")
	if e.Command != "" {
		b.WriteString(e.Command)
		b.WriteString(": ")
	}
	b.WriteString(e.Text)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the error's class and its cause, so that errors.Is and
// errors.As see both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Class}
	}
	return []error{e.Class, e.Err}
}

// newError returns an *Error of the given class.
func newError(class error, command, text string, cause error) *Error {
	return &Error{Class: class, Command: command, Text: text, Err: cause}
}

// withCommand returns err attributed to command: an *Error without a command
// gets a copy naming it; other errors are wrapped as aborts.
func withCommand(err error, command string) error {
	e, ok := err.(*Error)
	if !ok {
		return newError(ErrAbort, command, "connection failed", err)
	}
	if e.Command != "" {
		return e
	}
	c := *e
	c.Command = command
	return &c
}
