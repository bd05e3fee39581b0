package imaplib2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Result is the outcome of a command, as imaplib2 returns it: the status
// and the data the command collected.
type Result struct {
	// Type is "OK" or "NO" (a BAD is an error, not a Result). Logout gives
	// "BYE"; Response gives the code it was asked for.
	Type string
	// Data holds the untagged data the command collected, or the text of
	// its tagged response when it collects nothing. It always has at least
	// one element: one empty Datum stands for imaplib2's [None].
	Data []Datum
}

// Datum is one element of a Result's data: a line of text, or the text up
// to a literal together with the literal's bytes.
//
// A FETCH of one message body gives two Datums:
//
//	{Text: "1 (RFC822 {12}", Literal: []byte("hello\r\nworld")}
//	{Text: ")"}
type Datum struct {
	Text    string // a data line; for a literal, the text up to and including "{N}"
	Literal []byte // the literal's bytes; nil when this item has no literal
}

// IsLiteral reports whether d carries a literal (possibly an empty one).
func (d Datum) IsLiteral() bool { return d.Literal != nil }

// Untagged is a group of untagged responses of one type, as
// PopUntaggedResponses returns them in order of arrival.
type Untagged struct {
	Type string // "EXISTS", "FETCH", "OK", a response code such as "UIDVALIDITY", ...
	Data []Datum
}

// noData is imaplib2's [None]: a Result's data when nothing was collected.
func noData() []Datum { return []Datum{{}} }

// A response is one complete server response: a tagged status, an untagged
// response or a continuation request, with its literals read.
type response struct {
	kind   responseKind
	tag    string  // tagged responses only
	typ    string  // upper case: "OK", "FETCH", "EXISTS", ...
	num    uint32  // message number of "* n TYPE" responses; 0 if none
	text   string  // status and continuation responses: the text after the status word
	code   string  // upper-case response code of a status response, e.g. "UIDVALIDITY"
	detail string  // the response code's data, e.g. "3857529045"
	data   []Datum // the data as imaplib2 stores it: "n rest" or "rest", literals split off
	inline [2]Datum
	owner  *Command // the FetchFunc command it was streamed for
	wire   int      // bytes the response took on the wire, for debug output
}

type responseKind int

const (
	untaggedResponse responseKind = iota
	taggedResponse
	continuationResponse
)

// isStatus reports whether typ is one of the status response types, whose
// text may start with a response code.
func isStatus(typ string) bool {
	switch typ {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		return true
	}
	return false
}

// responseReader reads responses from the server. It owns its bufio.Reader;
// literals are read straight into the slice that the Datum keeps.
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
}

// errProtocol marks malformed server data.
var errProtocol = errors.New("protocol error")

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

// literalSize returns N if line ends with a literal announcement "{N}".
func literalSize(line []byte) (int64, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 || open == len(line)-2 {
		return 0, false
	}
	var n int64
	for _, c := range line[open+1 : len(line)-1] {
		if c < '0' || c > '9' || n > (1<<62)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Read buffers: a connection starts with a small one, which is all an idle
// connection needs, and gets a large one once it has carried a megabyte.
const (
	smallReadBuffer = 4 << 10
	largeReadBuffer = 64 << 10
	busyConnection  = 1 << 20
)

// newResponseReader reads responses from src.
func newResponseReader(src io.Reader, maxLine int, maxLiteral int64) *responseReader {
	return &responseReader{r: bufio.NewReaderSize(src, smallReadBuffer), src: src, maxLine: maxLine, maxLiteral: maxLiteral}
}

// read reads one response, literals included. Each literal is read
// straight into the slice that its Datum keeps.
func (rr *responseReader) read() (*response, error) {
	if rr.seen > busyConnection && rr.r.Size() < largeReadBuffer && rr.r.Buffered() == 0 {
		rr.r = bufio.NewReaderSize(rr.src, largeReadBuffer)
	}
	line, err := rr.readLine()
	if err != nil {
		return nil, err
	}
	r := &response{wire: len(line) + 2}
	r.data = r.inline[:0]
	text, err := r.parseFirst(line)
	if err != nil {
		return nil, err
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
		if r.kind != untaggedResponse {
			return nil, fmt.Errorf("%w: literal in a tagged or continuation response: %q", errProtocol, truncate(text))
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

// parseLine parses a response of one line, such as the greeting.
func parseLine(line []byte) (*response, error) {
	r := &response{}
	text, err := r.parseFirst(line)
	if err != nil {
		return nil, err
	}
	r.data = []Datum{{Text: text}}
	return r, nil
}

// parseFirst classifies a response by its first line, tolerating lower-case
// keywords and status responses without text, and returns the text of its
// first Datum.
func (r *response) parseFirst(line []byte) (string, error) {
	switch {
	case len(line) > 0 && line[0] == '+' && (len(line) == 1 || line[1] == ' '):
		r.kind = continuationResponse
		r.text = string(bytes.TrimPrefix(line[1:], []byte(" ")))
		return "", nil
	case len(line) > 0 && line[0] == '*' && (len(line) == 1 || line[1] == ' '):
		return r.parseUntagged(line[min(2, len(line)):])
	}
	tag, rest, _ := bytes.Cut(line, []byte(" "))
	word, text, _ := bytes.Cut(rest, []byte(" "))
	r.kind, r.typ = taggedResponse, keyword(word)
	if len(tag) == 0 || !isTagged(r.typ) {
		return "", fmt.Errorf("%w: unrecognised response %q", errProtocol, truncate(string(line)))
	}
	r.tag, r.text = string(tag), string(text)
	r.code, r.detail = responseCode(r.text)
	return "", nil
}

func isTagged(status string) bool { return status == "OK" || status == "NO" || status == "BAD" }

// parseUntagged splits "[n] TYPE [rest]" into its parts and returns the
// text imaplib2 stores for it: "n rest" (or "n") for numbered responses,
// "rest" for the others.
func (r *response) parseUntagged(line []byte) (string, error) {
	word, after, _ := bytes.Cut(line, []byte(" "))
	if len(word) == 0 || word[0] < '0' || word[0] > '9' {
		r.typ = keyword(word)
		if r.typ == "" {
			return "", fmt.Errorf("%w: untagged response without a type", errProtocol)
		}
		text := string(after)
		if isStatus(r.typ) {
			r.text = text
			r.code, r.detail = responseCode(text)
		}
		return text, nil
	}
	n, err := strconv.ParseUint(string(word), 10, 32)
	if err != nil {
		return "", fmt.Errorf("%w: bad message number in %q", errProtocol, truncate(string(line)))
	}
	typ, rest, _ := bytes.Cut(after, []byte(" "))
	r.num, r.typ = uint32(n), keyword(typ)
	if r.typ == "" {
		return "", fmt.Errorf("%w: untagged response without a type: %q", errProtocol, truncate(string(line)))
	}
	if len(rest) == 0 {
		return string(word), nil
	}
	var b strings.Builder
	b.Grow(len(word) + 1 + len(rest))
	b.Write(word)
	b.WriteByte(' ')
	b.Write(rest)
	return b.String(), nil
}

// keywords holds the response types servers send, so that recognising one
// costs no allocation.
var keywords = func() map[string]string {
	m := make(map[string]string)
	for _, k := range strings.Fields(`OK NO BAD BYE PREAUTH FETCH EXISTS RECENT EXPUNGE FLAGS SEARCH ESEARCH
		CAPABILITY LIST LSUB STATUS ENABLED ID NAMESPACE ACL MYRIGHTS LISTRIGHTS QUOTA QUOTAROOT SORT THREAD
		ANNOTATION METADATA VANISHED`) {
		m[k] = k
	}
	return m
}()

// keyword returns the upper-case form of a response type.
func keyword(b []byte) string {
	if k, ok := keywords[string(b)]; ok {
		return k
	}
	return strings.ToUpper(string(b))
}

// responseCode returns the code and data of a response code at the start
// of a status text: "[UIDVALIDITY 42] ok" gives "UIDVALIDITY", "42". A "]"
// inside parentheses does not end the code, so that
// "[PERMANENTFLAGS (\Answered [x] \*)]" keeps its whole flag list.
func responseCode(text string) (code, detail string) {
	if !strings.HasPrefix(text, "[") {
		return "", ""
	}
	depth := 0
	for i := 1; i < len(text); i++ {
		switch text[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ']':
			if depth <= 0 {
				code, detail, _ = strings.Cut(text[1:i], " ")
				return strings.ToUpper(code), detail
			}
		}
	}
	return "", ""
}

// truncate shortens a line for an error message.
func truncate(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// An entry is one stored untagged response (or response code), stamped with
// the order of its arrival and with the pending command it belongs to.
type entry struct {
	seq   uint64
	typ   string
	num   uint32 // message number, for routing FETCH data
	owner *Command
	data  []Datum

	uidKnown bool
	uidValue uint32
}

// uid returns the UID a FETCH response carries at its top level, or 0.
func (e *entry) uid() uint32 {
	if !e.uidKnown {
		for _, d := range e.data {
			if e.uidValue = fetchUID(d.Text); e.uidValue != 0 {
				break
			}
		}
		e.uidKnown = true
	}
	return e.uidValue
}

// fetchUID finds "UID n" among the items of a FETCH response text, skipping
// quoted strings and nested lists.
func fetchUID(text string) uint32 {
	depth := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '"':
			for i++; i < len(text) && text[i] != '"'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
		case 'U', 'u':
			if depth > 1 || i > 0 && text[i-1] != ' ' && text[i-1] != '(' {
				continue
			}
			if len(text) >= i+4 && strings.EqualFold(text[i:i+4], "UID ") {
				j := i + 4
				for j < len(text) && text[j] >= '0' && text[j] <= '9' {
					j++
				}
				if n, err := strconv.ParseUint(text[i+4:j], 10, 32); err == nil {
					return uint32(n)
				}
			}
		}
	}
	return 0
}

// singleResponse lists the untagged types that a command receives once
// (one SEARCH per SEARCH, one STATUS per STATUS, ...), so that pipelined
// commands of one kind each get their own even when the server sends all
// the data before all the completions.
var singleResponse = map[string]bool{
	"SEARCH": true, "ESEARCH": true, "SORT": true, "THREAD": true, "STATUS": true, "NAMESPACE": true,
	"ID": true, "CAPABILITY": true, "MYRIGHTS": true, "QUOTAROOT": true, "ACL": true,
}

// store routes untagged responses: each belongs to the oldest pending
// command that collects its type and accepts it (a FETCH command accepts
// only its messages; a command that collects one response of a type takes
// only the first), or else is unsolicited. It keeps both until they are
// taken: owned data by its command when it completes, unsolicited data by
// Response, Recent and PopUntaggedResponses.
//
// Owned data is always kept. Beyond limit entries in all, unsolicited data
// makes room by dropping the oldest of its type, so that a server flooding
// a client that never reads cannot grow memory without bound.
type store struct {
	seq        uint64             // arrivals so far
	byType     map[string][]entry // in order of arrival
	collectors map[string][]*Command
	streams    int // pending FetchFunc commands
	total      int // entries stored
	limit      int
	dropped    int // unsolicited entries dropped for the limit
}

func newStore(limit int) *store {
	return &store{byType: make(map[string][]entry), collectors: make(map[string][]*Command), limit: limit}
}

// register records that c, just sent, collects its types.
func (s *store) register(c *Command) {
	if c.each != nil {
		s.streams++
	}
	for _, typ := range c.collect {
		s.collectors[typ] = append(s.collectors[typ], c)
	}
}

// unregister records that c has completed: its data is no longer routed to
// it, and what it left (after a NO) becomes unsolicited.
func (s *store) unregister(c *Command) {
	if c.each != nil {
		s.streams--
	}
	for _, typ := range c.collect {
		list := s.collectors[typ]
		if i := slices.Index(list, c); i >= 0 {
			s.collectors[typ] = slices.Delete(list, i, i+1)
		}
		for i := range s.byType[typ] {
			if e := &s.byType[typ][i]; e.owner == c {
				e.owner = nil
			}
		}
	}
}

// route returns the pending command that an untagged response of typ
// belongs to, or nil if it is unsolicited.
func (s *store) route(typ string, e *entry) *Command {
	for _, c := range s.collectors[typ] {
		if singleResponse[typ] && slices.Contains(c.received, typ) {
			continue
		}
		if typ == "FETCH" && !c.accepts(e) {
			continue
		}
		if singleResponse[typ] {
			c.received = append(c.received, typ)
		}
		return c
	}
	return nil
}

// add stores an untagged response of typ; num is the message number of a
// numbered response, owner the command it belongs to or nil.
func (s *store) add(typ string, num uint32, data []Datum, owner *Command) {
	s.seq++
	list := s.byType[typ]
	if s.total >= s.limit && owner == nil {
		s.dropped++
		switch i := slices.IndexFunc(list, func(e entry) bool { return e.owner == nil }); {
		case i < 0:
			return
		case i == 0:
			list[0] = entry{}
			list = list[1:]
		default:
			list = slices.Delete(list, i, i+1)
		}
		s.total--
	}
	s.byType[typ] = append(list, entry{seq: s.seq, typ: typ, num: num, data: data, owner: owner})
	s.total++
}

// take removes and returns the data of typ that belongs to owner (nil:
// the unsolicited data), in order of arrival.
func (s *store) take(typ string, owner *Command) []Datum {
	list := s.byType[typ]
	var taken []Datum
	kept := list[:0]
	for _, e := range list {
		if e.owner == owner {
			if taken == nil {
				taken = e.data // no copy for the usual single response
			} else {
				taken = append(taken, e.data...)
			}
		} else {
			kept = append(kept, e)
		}
	}
	clear(list[len(kept):])
	s.total -= len(list) - len(kept)
	if len(kept) == 0 {
		delete(s.byType, typ)
	} else {
		s.byType[typ] = kept
	}
	return taken
}

// drop discards the unsolicited data of typ.
func (s *store) drop(typ string) { s.take(typ, nil) }

// flush discards everything, as SELECT does (nothing is pending then).
func (s *store) flush() {
	clear(s.byType)
	s.total = 0
}

// popAll removes the unsolicited data and returns it in order of arrival,
// with consecutive responses of one type grouped as imaplib2 groups them.
func (s *store) popAll() []Untagged {
	var all []entry
	for typ, list := range s.byType {
		for _, e := range list {
			if e.owner == nil {
				all = append(all, e)
			}
		}
		s.take(typ, nil)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	var groups []Untagged
	for _, e := range all {
		if n := len(groups); n > 0 && groups[n-1].Type == e.typ {
			groups[n-1].Data = append(groups[n-1].Data, e.data...)
			continue
		}
		groups = append(groups, Untagged{Type: e.typ, Data: append([]Datum(nil), e.data...)})
	}
	return groups
}

// textOf returns the text of the first Datum, or "".
func textOf(data []Datum) string {
	if len(data) == 0 {
		return ""
	}
	return data[0].Text
}
