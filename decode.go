package imaplib2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// This file holds the reading of the IMAP grammar, in two layers:
//
//   - framing: a responseReader reads one response from the connection, a
//     line and the literals its lines announce, into the []Datum form of
//     imaplib2;
//   - tokens: a decoder reads the grammar's tokens (atoms, numbers, quoted
//     strings, literals, NIL, lists, response codes, sequence sets) from
//     that form, or from any string, with errors that say where.
//
// Everything that looks inside server data (routing keys, response codes,
// ParseFlags, Internaldate2Time) reads it through a decoder.

// errProtocol marks malformed server data.
var errProtocol = errors.New("protocol error")

// maxNesting bounds the depth of nested lists a decoder follows: deeper
// data is an error, never a stack overflow.
const maxNesting = 100

// A decoder reads IMAP tokens from one response in imaplib2's form: the
// text of each Datum, with the literal a Datum carries standing where its
// text ends with "{N}". Its methods are named after the grammar rules of
// RFC 3501 §9 and leave the decoder after what they read.
type decoder struct {
	data []Datum
	d    int    // the Datum being read
	text string // its text
	pos  int    // offset in text
}

// newDecoder returns a decoder of data.
func newDecoder(data []Datum) *decoder {
	dec := &decoder{data: data}
	if len(data) > 0 {
		dec.text = data[0].Text
	}
	return dec
}

// newTextDecoder returns a decoder of one line of text without literals.
func newTextDecoder(s string) *decoder { return &decoder{text: s} }

// eachResponse calls fn with a decoder at the start of each response in
// data (a Result's Data holds the responses a command collected, one after
// the other), in order, and stops at the first error. fn reads one
// response; what it leaves of its last line is skipped. The grammar tells
// where a response ends, so one whose last item is a literal (a LIST of a
// mailbox named by a literal) is read right.
func eachResponse(data []Datum, fn func(dec *decoder) error) error {
	for dec := newDecoder(data); dec.next(); {
		start := dec.d
		if err := fn(dec); err != nil {
			return err
		}
		if dec.d == start || dec.pos > 0 || !dec.data[dec.d-1].IsLiteral() {
			dec.pos = len(dec.text) // the rest of its last line
		} // else it ended with a literal: the next response starts here
	}
	return nil
}

// next moves the decoder to the start of the next Datum, once the current
// one has been read; it reports false when there is none.
func (dec *decoder) next() bool {
	for dec.pos >= len(dec.text) {
		if dec.d+1 >= len(dec.data) {
			return false
		}
		dec.d++
		dec.text, dec.pos = dec.data[dec.d].Text, 0
	}
	return true
}

// errorf returns a protocol error that says what was wanted and where.
func (dec *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d of %q", errProtocol, fmt.Sprintf(format, args...), dec.pos, truncate(dec.text))
}

// peek returns the next byte, or 0 at the end of the current text.
func (dec *decoder) peek() byte {
	if dec.pos < len(dec.text) {
		return dec.text[dec.pos]
	}
	return 0
}

// accept consumes c if it comes next.
func (dec *decoder) accept(c byte) bool {
	if dec.peek() == c {
		dec.pos++
		return true
	}
	return false
}

// expect consumes c, which must come next.
func (dec *decoder) expect(c byte) error {
	if !dec.accept(c) {
		return dec.errorf("want %q", c)
	}
	return nil
}

// sp consumes one space.
func (dec *decoder) sp() error { return dec.expect(' ') }

// skipWhite consumes the bytes for which white reports true.
func (dec *decoder) skipWhite(white func(rune) bool) {
	for dec.pos < len(dec.text) && white(rune(dec.text[dec.pos])) {
		dec.pos++
	}
}

// token reads the bytes up to the first one for which stop reports true:
// a bare token, for the lenient readers of imaplib2's helpers.
func (dec *decoder) token(stop func(rune) bool) string {
	start := dec.pos
	for dec.pos < len(dec.text) && !stop(rune(dec.text[dec.pos])) {
		dec.pos++
	}
	return dec.text[start:dec.pos]
}

// rest returns the unread text of the current Datum and consumes it.
func (dec *decoder) rest() string {
	s := dec.text[min(dec.pos, len(dec.text)):]
	dec.pos = len(dec.text)
	return s
}

// isAtomChar reports whether c may appear in an atom (RFC 3501 ATOM-CHAR):
// any CHAR except controls, SP and ( ) { % * " \ ].
func isAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return c > ' ' && c < 0x7f
}

// atom reads an atom.
func (dec *decoder) atom() (string, error) {
	start := dec.pos
	for dec.pos < len(dec.text) && isAtomChar(dec.text[dec.pos]) {
		dec.pos++
	}
	if dec.pos == start {
		return "", dec.errorf("want an atom")
	}
	return dec.text[start:dec.pos], nil
}

// word reads a response keyword or tag: anything up to a space.
func (dec *decoder) word() string {
	start := dec.pos
	for dec.pos < len(dec.text) && dec.text[dec.pos] != ' ' {
		dec.pos++
	}
	return dec.text[start:dec.pos]
}

// number reads an unsigned 32-bit number (RFC 3501 number, nz-number).
func (dec *decoder) number() (uint32, error) {
	n, err := dec.number64()
	if err == nil && n > 1<<32-1 {
		return 0, dec.errorf("number %d out of range", n)
	}
	return uint32(n), err
}

// number64 reads an unsigned 63-bit number (RFC 4551 mod-sequence-value).
func (dec *decoder) number64() (uint64, error) {
	n, digits, ok := scanNumber(dec.text[dec.pos:])
	switch {
	case digits == 0:
		return 0, dec.errorf("want a number")
	case !ok:
		return 0, dec.errorf("number too large")
	}
	dec.pos += digits
	return n, nil
}

// scanNumber reads the decimal digits at the start of s: their value,
// their count, and false if the value exceeds 63 bits. The decoder's
// numbers and the framing's message numbers both read through it.
func scanNumber[T string | []byte](s T) (n uint64, digits int, ok bool) {
	for digits < len(s) && '0' <= s[digits] && s[digits] <= '9' {
		if n > (1<<63-1)/10 {
			return 0, digits, false
		}
		n = n*10 + uint64(s[digits]-'0')
		digits++
	}
	return n, digits, true
}

// nzNumber reads a non-zero number (RFC 3501 nz-number), which has no
// leading zero.
func (dec *decoder) nzNumber() (uint32, error) {
	if dec.peek() == '0' {
		return 0, dec.errorf("want a non-zero number")
	}
	return dec.number()
}

// quoted reads a quoted string and returns it unescaped.
func (dec *decoder) quoted() (string, error) {
	if err := dec.expect('"'); err != nil {
		return "", err
	}
	start, escaped := dec.pos, false
	for i := dec.pos; i < len(dec.text); i++ {
		switch dec.text[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			s := dec.text[start:i]
			dec.pos = i + 1
			if escaped {
				s = unescapeQuoted(s)
			}
			return s, nil
		}
	}
	dec.pos = start - 1
	return "", dec.errorf("unterminated quoted string")
}

// unescapeQuoted removes the backslashes of a quoted string's escapes.
func unescapeQuoted(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// literal reads a literal: the "{N}" that ends the current text, and the
// bytes its Datum carries. Reading goes on in the next Datum's text.
func (dec *decoder) literal() ([]byte, error) {
	n, ok := literalSize(dec.text[dec.pos:])
	if !ok || dec.d >= len(dec.data) || !dec.data[dec.d].IsLiteral() {
		return nil, dec.errorf("want a literal")
	}
	lit := dec.data[dec.d].Literal
	if int64(len(lit)) != n {
		return nil, dec.errorf("literal of %d bytes announced as {%d}", len(lit), n)
	}
	dec.d++
	dec.text, dec.pos = "", 0
	if dec.d < len(dec.data) {
		dec.text = dec.data[dec.d].Text
	}
	return lit, nil
}

// str reads a string (RFC 3501 string: quoted or literal). A literal's
// bytes are returned as they are, without a copy.
func (dec *decoder) str() ([]byte, error) {
	switch dec.peek() {
	case '"':
		s, err := dec.quoted()
		return []byte(s), err
	case '{', '~':
		return dec.literal()
	}
	return nil, dec.errorf("want a string")
}

// nstring reads NIL (nil) or a string.
func (dec *decoder) nstring() ([]byte, error) {
	if dec.nil() {
		return nil, nil
	}
	return dec.str()
}

// nil consumes NIL if it comes next (in any case).
func (dec *decoder) nil() bool {
	if len(dec.text)-dec.pos >= 3 && strings.EqualFold(dec.text[dec.pos:dec.pos+3], "NIL") &&
		(dec.pos+3 == len(dec.text) || !isAtomChar(dec.text[dec.pos+3])) {
		dec.pos += 3
		return true
	}
	return false
}

// atEnd reports whether the response has been read to its end: the end
// of a line that announces no literal.
func (dec *decoder) atEnd() bool {
	return dec.pos >= len(dec.text) && (dec.d >= len(dec.data) || !dec.data[dec.d].IsLiteral())
}

// astring reads an atom or a string (RFC 3501 astring); "]" may appear in
// the atom form, as in mailbox names and flags of some servers.
func (dec *decoder) astring() (string, error) {
	switch dec.peek() {
	case '"', '{', '~':
		b, err := dec.str()
		return string(b), err
	}
	start := dec.pos
	for dec.pos < len(dec.text) && (isAtomChar(dec.text[dec.pos]) || dec.text[dec.pos] == ']') {
		dec.pos++
	}
	if dec.pos == start {
		return "", dec.errorf("want an atom or a string")
	}
	return dec.text[start:dec.pos], nil
}

// list reads a parenthesized list, calling item for each element; item
// reads the element. Elements are separated by spaces: one in the
// grammar, more, and some before ")", as some servers send.
func (dec *decoder) list(item func() error) error {
	if err := dec.expect('('); err != nil {
		return err
	}
	for dec.accept(' ') {
	}
	if dec.accept(')') {
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if !dec.another() {
			if dec.accept(')') {
				return nil
			}
			return dec.errorf("want a space or \")\"")
		}
	}
}

// another reports whether another element follows in the list being read:
// a space, and after it (and any more spaces, which some servers send, as
// in "(UID 7 )") something other than the list's ")".
func (dec *decoder) another() bool {
	if !dec.accept(' ') {
		return false
	}
	for dec.accept(' ') {
	}
	return dec.peek() != ')'
}

// adjacent reads a parenthesized list whose elements follow each other
// without separators, as the addresses of an ENVELOPE do ("1*address");
// spaces between them, which some servers send, are accepted.
func (dec *decoder) adjacent(item func() error) error {
	if err := dec.expect('('); err != nil {
		return err
	}
	for {
		for dec.accept(' ') {
		}
		if dec.accept(')') {
			return nil
		}
		if err := item(); err != nil {
			return err
		}
	}
}

// flag reads a flag: an atom, `\` and an atom, or `\*`.
func (dec *decoder) flag() (string, error) {
	start := dec.pos
	if dec.accept('\\') && dec.accept('*') {
		return `\*`, nil
	}
	if _, err := dec.atom(); err != nil {
		dec.pos = start
		return "", dec.errorf("want a flag")
	}
	return dec.text[start:dec.pos], nil
}

// skipValue reads past one value of any kind: an atom (including section
// specifiers such as BODY[HEADER.FIELDS (A B)]<0>), a number, a quoted
// string, a literal, NIL or a list.
func (dec *decoder) skipValue() error { return dec.skip(0) }

func (dec *decoder) skip(depth int) error {
	if depth > maxNesting {
		return dec.errorf("lists nested deeper than %d", maxNesting)
	}
	switch dec.peek() {
	case '(':
		return dec.list(func() error { return dec.skip(depth + 1) })
	case '"':
		_, err := dec.quoted()
		return err
	case '{', '~':
		_, err := dec.literal()
		return err
	case '\\':
		_, err := dec.flag()
		return err
	}
	start := dec.pos
	for dec.pos < len(dec.text) {
		switch c := dec.text[dec.pos]; {
		case c == '[':
			if err := dec.section(depth); err != nil {
				return err
			}
		case c == '<' && dec.pos > start:
			end := strings.IndexByte(dec.text[dec.pos:], '>')
			if end < 0 {
				return dec.errorf("unterminated partial")
			}
			dec.pos += end + 1
		case isAtomChar(c):
			dec.pos++
		default:
			if dec.pos == start {
				return dec.errorf("want a value")
			}
			return nil
		}
	}
	if dec.pos == start {
		return dec.errorf("want a value")
	}
	return nil
}

// taggedExtVal reads past the value of an extension item (RFC 4466
// tagged-ext-val): a sequence set, a number of up to 63 bits, or a
// parenthesized list.
func (dec *decoder) taggedExtVal() error {
	if dec.peek() == '(' {
		return dec.skipValue()
	}
	start := dec.pos
	if _, err := dec.seqSet(); err == nil {
		return nil
	}
	dec.pos = start
	_, err := dec.number64()
	return err
}

// section reads past a bracketed section specifier, "[...]", whose field
// lists may hold spaces and quoted names.
func (dec *decoder) section(depth int) error {
	dec.pos++ // '['
	for dec.pos < len(dec.text) {
		switch dec.text[dec.pos] {
		case ']':
			dec.pos++
			return nil
		case ' ':
			dec.pos++
		default:
			if err := dec.skip(depth + 1); err != nil {
				return err
			}
		}
	}
	return dec.errorf("unterminated section")
}

// respCode reads a response code, "[NAME args]", at the start of a status
// text and returns its name upper-cased and its arguments as sent. A "]"
// inside a list or a quoted string does not end it, so that
// "[PERMANENTFLAGS (\Answered [x] \*)]" keeps its whole flag list.
func (dec *decoder) respCode() (name, args string, err error) {
	start := dec.pos
	if err := dec.expect('['); err != nil {
		return "", "", err
	}
	nameStart := dec.pos
	for dec.pos < len(dec.text) && isAtomChar(dec.text[dec.pos]) {
		dec.pos++
	}
	if dec.pos == nameStart {
		dec.pos = start
		return "", "", dec.errorf("want a response code name")
	}
	name = strings.ToUpper(dec.text[nameStart:dec.pos])
	argStart := dec.pos
	if dec.accept(' ') {
		argStart = dec.pos
	}
	depth := 0
	for ; dec.pos < len(dec.text); dec.pos++ {
		switch dec.text[dec.pos] {
		case '"':
			if _, err := dec.quoted(); err != nil {
				dec.pos = start
				return "", "", err
			}
			dec.pos--
		case '(':
			depth++
		case ')':
			depth--
		case ']':
			if depth <= 0 {
				args = dec.text[argStart:dec.pos]
				dec.pos++
				return name, args, nil
			}
		}
	}
	dec.pos = start
	return "", "", dec.errorf("unterminated response code")
}

// seqStar stands for "*" in a sequence set: the largest number in use.
const seqStar = ^uint32(0)

// A seqRange is one range of a sequence set, low end first; seqStar in Hi
// (or in both) stands for "*".
type seqRange struct{ Lo, Hi uint32 }

// seqRanges is a parsed sequence set.
type seqRanges []seqRange

// seqSet reads an RFC 3501 sequence-set: comma-separated numbers, "*", or
// ranges of them ("1,3:5,9:*"). Each range is ordered low end first.
func (dec *decoder) seqSet() (seqRanges, error) {
	var set seqRanges
	for {
		lo, err := dec.seqNumber()
		if err != nil {
			return nil, err
		}
		hi := lo
		if dec.accept(':') {
			if hi, err = dec.seqNumber(); err != nil {
				return nil, err
			}
		}
		set = append(set, seqRange{min(lo, hi), max(lo, hi)})
		if !dec.accept(',') {
			return set, nil
		}
	}
}

// seqNumber reads a non-zero number or "*" (seqStar).
func (dec *decoder) seqNumber() (uint32, error) {
	if dec.accept('*') {
		return seqStar, nil
	}
	n, err := dec.nzNumber()
	if err == nil && n == seqStar {
		return 0, dec.errorf("number out of range")
	}
	return n, err
}

// parseSeqSet parses s as a whole sequence set.
func parseSeqSet(s string) (seqRanges, bool) {
	dec := newTextDecoder(s)
	set, err := dec.seqSet()
	return set, err == nil && dec.pos == len(s)
}

// literalSize returns N if s ends with a literal announcement: "{N}", or
// "~{N}" for a literal8 (RFC 3516).
func literalSize[T string | []byte](s T) (int64, bool) {
	end := len(s) - 1
	if end < 2 || s[end] != '}' {
		return 0, false
	}
	open := end - 1
	for open >= 0 && '0' <= s[open] && s[open] <= '9' {
		open--
	}
	if open < 0 || s[open] != '{' || open == end-1 || end-open > 19 {
		return 0, false
	}
	var n int64
	for i := open + 1; i < end; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// responseReader frames responses: it reads a line and, while the line
// ends with a literal announcement, the literal and the line that goes on
// after it. It owns its bufio.Reader; literals are read straight into the
// slice that the Datum keeps.
type responseReader struct {
	r          *bufio.Reader
	src        io.Reader // what r reads from
	seen       int       // bytes read while r was small
	maxLine    int
	maxLiteral int64

	// streamed, if set, reports whether a FETCH response whose first line
	// has been read goes to a FetchFunc handler; if so, its literals are
	// read into scratch, which the next such response reuses.
	streamed func(r *response, firstLine string) bool
	scratch  []byte

	trace bool // keep each response's first line as read, for the debug log

	// spare is a response the reader has handled and nothing kept, reused
	// for the next one (see IMAP4.readLoop).
	spare *response
}

// Read buffers: a connection starts with a small one, which is all an idle
// connection needs (longer lines are gathered in pieces), and gets a large
// one once it has carried 64 KiB.
const (
	smallReadBuffer = 512
	largeReadBuffer = 64 << 10
	busyConnection  = 64 << 10
)

// newResponseReader reads responses from src.
func newResponseReader(src io.Reader, maxLine int, maxLiteral int64) *responseReader {
	return &responseReader{r: bufio.NewReaderSize(src, smallReadBuffer), src: src, maxLine: maxLine, maxLiteral: maxLiteral}
}

// growBuffer gives a busy connection the large read buffer. Bytes already
// buffered are read first: under a stream of responses the small buffer is
// seldom empty, and waiting for it to be would leave a busy connection
// reading a small buffer's worth at a time.
func (rr *responseReader) growBuffer() {
	src := rr.src
	if n := rr.r.Buffered(); n > 0 {
		held, _ := rr.r.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(held)), rr.src)
	}
	rr.r = bufio.NewReaderSize(src, largeReadBuffer)
}

// readLine returns the next line without its line ending; the slice is
// valid until the next read. A bare LF is accepted as a line ending; a line
// longer than maxLine is refused before it is buffered whole.
func (rr *responseReader) readLine() ([]byte, error) {
	var long []byte
	for {
		chunk, err := rr.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(chunk) > rr.maxLine {
				return nil, fmt.Errorf("%w: response line longer than %d bytes", errProtocol, rr.maxLine)
			}
			long = append(long, chunk...)
			continue
		}
		if err != nil {
			if err == io.EOF && (len(long) > 0 || len(chunk) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if long != nil {
			chunk = append(long, chunk...)
		}
		if len(chunk) > rr.maxLine {
			return nil, fmt.Errorf("%w: response line longer than %d bytes", errProtocol, rr.maxLine)
		}
		chunk = chunk[:len(chunk)-1]
		if n := len(chunk); n > 0 && chunk[n-1] == '\r' {
			chunk = chunk[:n-1]
		}
		return chunk, nil
	}
}

// read reads one response, literals included. Each literal is read
// straight into the slice that its Datum keeps. Status responses (tagged,
// OK, NO, BAD, BYE, PREAUTH) and continuation requests never announce
// literals: a "{N}" at the end of their text is text.
func (rr *responseReader) read() (*response, error) {
	if rr.seen > busyConnection && rr.r.Size() < largeReadBuffer {
		rr.growBuffer()
	}
	line, err := rr.readLine()
	if err != nil {
		return nil, err
	}
	r := rr.spare // a status or continuation response that nothing kept
	if r != nil {
		rr.spare = nil
		*r = response{wire: len(line) + 2}
	} else {
		r = &response{wire: len(line) + 2}
	}
	r.data = r.inline[:0]
	text := r.parseFirst(line)
	if rr.trace {
		r.line = string(line)
	}
	if r.kind != untaggedResponse || isStatus(r.typ) {
		r.data = append(r.data, Datum{Text: text})
		rr.seen += r.wire
		return r, nil
	}
	reuse, used := false, 0 // literals go into rr.scratch; bytes of it in use
	for {
		n, isLiteral := literalSize(line)
		if !isLiteral {
			if text != "" || len(r.data) == 0 {
				r.data = append(r.data, Datum{Text: text})
			}
			rr.seen += r.wire
			return r, nil
		}
		if n > rr.maxLiteral {
			return nil, fmt.Errorf("%w: literal of %d bytes exceeds the limit of %d (Options.MaxLiteralSize)", errProtocol, n, rr.maxLiteral)
		}
		if len(r.data) == 0 && r.typ == "FETCH" && rr.streamed != nil {
			reuse = rr.streamed(r, text)
		}
		var lit []byte
		if reuse && int64(len(rr.scratch)-used) < n && n <= literalChunk {
			rr.scratch, used = make([]byte, max(2*len(rr.scratch), int(n), 4096)), 0
		}
		if reuse && int64(len(rr.scratch)-used) >= n {
			lit = rr.scratch[used : used+int(n)]
			used += int(n)
			if _, err = io.ReadFull(rr.r, lit); err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
		} else if lit, err = readLiteral(rr.r, n); reuse && err == nil {
			rr.scratch, used = lit, len(lit) // the next streamed response reuses it
		}
		if err != nil {
			return nil, err
		}
		if lit == nil {
			lit = []byte{} // a {0} read into an empty scratch is still a literal
		}
		r.data = append(r.data, Datum{Text: text, Literal: lit})
		if line, err = rr.readLine(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		r.wire += int(n) + len(line) + 2
		text = string(line)
	}
}

// literalChunk is the most memory a literal gets before its bytes arrive:
// a server that announces a huge literal and sends nothing cannot make the
// client allocate it.
const literalChunk = 1 << 20

// readLiteral reads a literal of n bytes. Up to literalChunk it reads
// straight into a slice of the final size; beyond, the slice grows as the
// bytes arrive.
func readLiteral(r io.Reader, n int64) ([]byte, error) {
	lit := make([]byte, min(n, literalChunk))
	done := 0
	for {
		if _, err := io.ReadFull(r, lit[done:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if int64(len(lit)) == n {
			return lit, nil
		}
		done = len(lit)
		more := int(min(n-int64(done), int64(done)))
		lit = slices.Grow(lit, more)[:done+more]
	}
}
