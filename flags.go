package imaplib2

import "bytes"

// ParseFlags returns the flags of the last `FLAGS (...)` group in an IMAP
// response line:
//
//	ParseFlags([]byte(`1 (UID 5 FLAGS (\Seen $Label))`)) // []string{`\Seen`, `$Label`}
//
// It keeps imaplib2's semantics: the last complete group that starts on the
// first line of resp wins (imaplib2's regular expression is greedy and does
// not cross a line feed), "PERMANENTFLAGS (...)" matches too, "FLAGS" is
// case-sensitive, and the flags are split at ASCII white space. An empty group gives an empty,
// non-nil slice; no group gives nil. Flags cannot contain parentheses, so a
// group with nested parentheses is not a flag list and is skipped, where
// imaplib2 would return pieces such as "(x".
func ParseFlags(resp []byte) []string {
	const key = "FLAGS ("
	line, _, _ := bytes.Cut(resp, []byte("\n"))
	text := string(resp) // once: each candidate group is read from its own offset
	for {
		i := bytes.LastIndex(line, []byte(key))
		if i < 0 {
			return nil
		}
		if flags, ok := flagGroup(newTextDecoder(text[i+len(key)-1:])); ok {
			return flags
		}
		line = line[:i] // unclosed or nested: try the group before
	}
}

// flagGroup reads a parenthesized group of flags split at white space, as
// imaplib2 splits them; it reports false for a group that is unclosed or
// holds a nested one.
func flagGroup(dec *decoder) ([]string, bool) {
	flags := []string{}
	dec.accept('(')
	for {
		dec.skipWhite(isASCIISpace)
		switch dec.peek() {
		case ')':
			return flags, true
		case '(', 0:
			return nil, false
		}
		flags = append(flags, dec.token(func(c rune) bool { return isASCIISpace(c) || c == '(' || c == ')' }))
	}
}

// isASCIISpace reports whether r is white space as Python's bytes.split sees it.
func isASCIISpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// Int2AP converts a non-negative integer to the letters A-P as a base-16
// number, most significant digit first, as imaplib2 does for its tag
// prefixes: 1 gives "B", 15 "P", 16 "BA", 4096 "BAAA", 65535 "PPPP" and
// 12345 "DADJ". The absolute value of a negative number is used (-17 gives
// "BB"), and 0 gives "", as in imaplib2.
func Int2AP(num int) string {
	n := uint(num)
	if num < 0 {
		n = -n // also right for math.MinInt
	}
	var buf [16]byte // 64 bits, 4 per letter
	i := len(buf)
	for ; n > 0; n /= 16 {
		i--
		buf[i] = "ABCDEFGHIJKLMNOP"[n%16]
	}
	return string(buf[i:])
}
