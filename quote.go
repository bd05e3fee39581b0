package imaplib2

import (
	"errors"
	"fmt"
	"strings"
)

// An arg is one argument of a command as it goes on the wire: either text
// sent as it is, or a literal announced with {N} (or {N+} under LITERAL+)
// and followed by its bytes.
type arg struct {
	text    string // sent after a space; for a literal, what precedes "{N}"
	literal []byte // the literal's bytes, when isLiteral
	// isLiteral marks a literal; binary marks a literal8 (~{N}), as used by
	// APPEND after ENABLE UTF8=ACCEPT.
	isLiteral, binary bool
	closer            string // sent right after the literal, e.g. ")"
	secret            bool   // never shown in debug output
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
	quoted := false
	for i := 0; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		}
	}
	return !quoted
}

// endsWithLiteral reports whether s ends like "{5}" or "{5+}".
func endsWithLiteral(s string) bool {
	_, ok := literalSize([]byte(strings.TrimSuffix(strings.TrimSuffix(s, "}"), "+") + "}"))
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

// scanSet reports whether s is an RFC 3501 sequence-set (comma separated
// numbers, "*" or ranges of them, such as "1,3:5,9:*"), appending every range in it
// to ranges (unless nil), low end first; "*" is seqStar.
func scanSet(s string, ranges *seqRanges) bool {
	if s == "" {
		return false
	}
	for s != "" {
		lo, rest, ok := seqNumber(s)
		hi := lo
		if ok && rest != "" && rest[0] == ':' {
			hi, rest, ok = seqNumber(rest[1:])
		}
		if !ok {
			return false
		}
		if rest != "" {
			if rest[0] != ',' || len(rest) == 1 {
				return false
			}
			rest = rest[1:]
		}
		if ranges != nil {
			*ranges = append(*ranges, [2]uint32{min(lo, hi), max(lo, hi)})
		}
		s = rest
	}
	return true
}

// seqStar stands for "*", the largest number in use.
const seqStar = ^uint32(0)

// seqNumber reads a message number or "*" from the start of s.
func seqNumber(s string) (n uint32, rest string, ok bool) {
	if s != "" && s[0] == '*' {
		return seqStar, s[1:], true
	}
	i := 0
	var v uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v = v*10 + uint64(s[i]-'0'); v >= uint64(seqStar) {
			return 0, "", false
		}
	}
	if i == 0 || s[0] == '0' {
		return 0, "", false
	}
	return uint32(v), s[i:], true
}
