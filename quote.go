package imaplib2

import (
	"errors"
	"fmt"
	"strings"
)

// An arg is one argument of a command as it goes on the wire: either text
// sent as it is, or a literal announced with {N} (or {N+} under LITERAL+)
// and followed by its bytes. An argument whose form depends on UTF-8 mode
// (RFC 6855) remembers its source, so that the writer can encode it again
// when the mode in force at sending differs from the one it was built in.
type arg struct {
	text    string // sent after a space; for a literal, what precedes "{N}"
	literal []byte // the literal's bytes, when isLiteral
	// isLiteral marks a literal; binary marks a literal8 (~{N}), as used by
	// APPEND after ENABLE UTF8=ACCEPT.
	isLiteral, binary bool
	secret            bool   // never shown in debug output
	closer            string // sent right after the literal, e.g. ")"

	source *argSource // for a form that depends on UTF-8 mode; else nil
}

// argSource is what an argument was made from, so that it can be made
// again under the other mode.
type argSource struct {
	form        form   // how value becomes the wire form
	value       string // the caller's value
	utf8        bool   // the mode the wire form was made for
	open, close string // sent around the value (see wrapped)
}

// A form is a way of turning a caller's string into an argument.
type form uint8

const (
	formFixed   form = iota // the same in both modes
	formAString             // imaplib2's quoting rules (quoter.astring)
	formQuoted              // always quoted, or a literal (quoter.quoted)
	formMailbox             // a mailbox name (quoter.mailbox)
	formMessage             // APPEND's message: a literal, literal8 in UTF-8 mode
)

// encode returns the argument src in form f under the rules of q.
func (q quoter) encode(f form, src string) (arg, error) {
	var a arg
	var err error
	switch f {
	case formAString:
		a, err = q.astring(src)
	case formQuoted:
		a, err = q.quoted(src)
	case formMailbox:
		a, err = q.mailbox(src)
	}
	if f != formFixed {
		a.source = &argSource{form: f, value: src, utf8: q.utf8}
	}
	return a, err
}

// message returns APPEND's message as a literal, a literal8 in UTF-8
// mode (RFC 6855: UTF8 (~{N} ...)). The argument keeps body, which the
// caller must not change.
func (q quoter) message(body []byte) arg {
	a := arg{literal: body, isLiteral: true, source: &argSource{form: formMessage, utf8: q.utf8}}
	if q.utf8 {
		a.text, a.binary, a.closer = "UTF8 (", true, ")"
	}
	return a
}

// forMode returns a as it must be sent under q: encoded again if its form
// depends on the mode and q's mode differs from the one a was made for.
func (a arg) forMode(q quoter) arg {
	if a.source == nil || a.source.utf8 == q.utf8 {
		return a
	}
	if a.source.form == formMessage {
		return q.message(a.literal)
	}
	b, err := q.encode(a.source.form, a.source.value)
	if err != nil { // cannot happen: both modes refuse the same values
		return a
	}
	b.secret = a.secret
	return b.wrapped(a.source.open, a.source.close)
}

// wrapped returns a with open sent before it and close after it, as ID
// puts its list's parentheses around its first and last values.
func (a arg) wrapped(open, close string) arg {
	if a.source != nil {
		source := *a.source
		source.open, source.close = open, close
		a.source = &source
	}
	a.text = open + a.text
	if a.isLiteral {
		a.closer += close
	} else {
		a.text += close
	}
	return a
}

// atomChars lists the bytes that may appear in an argument sent without
// quotes: imaplib2's rule, everything printable except the IMAP
// atom-specials SP ( ) { % * " \ ].
var atomChars = func() (t [256]bool) {
	for _, c := range "!#$&'+,./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[^_`abcdefghijklmnopqrstuvwxyz|}~-" {
		t[c] = true
	}
	return t
}()

// quoter turns Go strings into command arguments by the seed document's
// quoting rules. utf8 reports that ENABLE UTF8=ACCEPT succeeded, so that
// non-ASCII text may go as a quoted UTF-8 string instead of a literal.
type quoter struct{ utf8 bool }

// astring encodes s by imaplib2's rules:
//   - "(...)" and "\"...\"" are sent as they are;
//   - '...' is stripped of its single quotes and the rest sent as it is;
//   - a non-empty string of atom characters is sent as it is;
//   - anything else is quoted, or sent as a literal when it holds CR, LF or
//     (before UTF8=ACCEPT) non-ASCII characters, which a quoted string cannot carry.
//
// A NUL byte, or CR or LF in a form that is sent as it is, is an error:
// such an argument could end the command line early.
func (q quoter) astring(s string) (arg, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return arg{}, errNUL
	}
	if n := len(s); n >= 2 {
		first, last := s[0], s[n-1]
		if first == '(' && last == ')' || first == '"' && last == '"' {
			return verbatim(s)
		}
		if first == '\'' && last == '\'' {
			return verbatim(s[1 : n-1])
		}
	}
	if s != "" && isAtom(s) {
		return arg{text: s}, nil
	}
	return q.quoted(s)
}

// mailbox encodes a mailbox name: a name that is valid modified UTF-7 is
// sent as it is, any other one is encoded (non-ASCII, or an "&" that is not
// modified UTF-7, as in "R&D"), except in UTF-8 mode, where names go as
// they are. The result is quoted by the rules of astring.
func (q quoter) mailbox(name string) (arg, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return arg{}, errNUL
	}
	return q.astring(q.mailboxName(name))
}

// mailboxName returns the name as the server is to see it, before quoting.
func (q quoter) mailboxName(name string) string {
	if !q.utf8 && !isModifiedUTF7(name) {
		return EncodeMailboxName(name)
	}
	return name
}

// errNUL reports an argument that no IMAP form can carry.
var errNUL = errors.New("argument contains a NUL byte, which IMAP cannot carry")

// quoted encodes s as a quoted string, or as a literal when a quoted string
// cannot carry it. LOGIN passwords always take this path. A NUL byte, which
// IMAP cannot carry in either form, is an error.
func (q quoter) quoted(s string) (arg, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return arg{}, errNUL
		case c == '\r' || c == '\n' || c >= 0x80 && !q.utf8:
			return arg{literal: []byte(s), isLiteral: true}, nil
		}
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return arg{text: b.String()}, nil
}

// verbatim sends s exactly as the caller wrote it (FETCH item lists, STATUS
// names, STORE commands). It refuses what could break the command's
// framing: CR, LF or NUL, an unterminated quoted string, and a literal
// announcement such as "{5}" at its end.
func verbatim(s string) (arg, error) {
	switch {
	case s == "":
		return arg{}, errors.New("empty argument")
	case strings.ContainsAny(s, "\r\n\x00"):
		return arg{}, fmt.Errorf("argument %q contains CR, LF or NUL and cannot be sent as it is", s)
	case !closedQuotes(s):
		return arg{}, fmt.Errorf("argument %q has an unterminated quoted string", s)
	case endsWithLiteral(s):
		return arg{}, fmt.Errorf("argument %q ends with a literal announcement", s)
	}
	return arg{text: s}, nil
}

// closedQuotes reports whether every quoted string in s is terminated.
func closedQuotes(s string) bool {
	dec := newTextDecoder(s)
	for {
		i := strings.IndexByte(s[dec.pos:], '"')
		if i < 0 {
			return true
		}
		dec.pos += i
		if _, err := dec.quoted(); err != nil {
			return false
		}
	}
}

// endsWithLiteral reports whether s ends like "{5}" or "{5+}".
func endsWithLiteral(s string) bool {
	_, ok := literalSize(strings.TrimSuffix(strings.TrimSuffix(s, "}"), "+") + "}")
	return ok && strings.HasSuffix(s, "}")
}

// parenthesized wraps s in parentheses unless it already has them, as
// imaplib2 does for STORE flags and SORT criteria.
func parenthesized(s string) (arg, error) {
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		s = "(" + s + ")"
	}
	return verbatim(s)
}

func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		if !atomChars[s[i]] {
			return false
		}
	}
	return true
}
