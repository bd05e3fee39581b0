package imaplib2

import (
	"bytes"
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
	// Text is the text of the tagged response, its response code included:
	// "[COPYUID 38505 304,319:320 3956:3958] Done". It is "" for a Result
	// of Response or of stored data.
	Text string

	keptCode string // MOVE: the COPYUID data of its untagged OK
}

// Code returns the response code at the start of r.Text, "[NAME args]
// text": "COPYUID", "38505 304,319:320 3956:3958". The name is upper case;
// both are "" when Text starts with no response code.
func (r Result) Code() (name, args string) {
	return responseCode(r.Text)
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
	wire   int      // bytes the response took on the wire
	line   string   // the first line as read, when the debug log shows it
	kept   bool     // a command keeps it (Command.status): not to be reused
}

type responseKind int

const (
	untaggedResponse responseKind = iota
	taggedResponse
	continuationResponse
	garbageResponse // none of the above: logged and ignored
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

// parseLine parses a response of one line, such as the greeting.
func parseLine(line []byte) *response {
	r := &response{}
	r.data = []Datum{{Text: r.parseFirst(line)}}
	return r
}

// parseFirst classifies a response by its first line, tolerating lower-case
// keywords and status responses without text, and returns the text of its
// first Datum. A line that is neither a continuation request, an untagged
// response nor a tagged status is a garbageResponse.
func (r *response) parseFirst(line []byte) string {
	switch {
	case len(line) > 0 && line[0] == '+' && (len(line) == 1 || line[1] == ' '):
		r.kind = continuationResponse
		r.text = string(line[min(2, len(line)):])
		return ""
	case len(line) > 0 && line[0] == '*' && (len(line) == 1 || line[1] == ' '):
		r.kind = untaggedResponse
		if text, ok := r.parseUntagged(line[min(2, len(line)):]); ok {
			return text
		}
	default:
		dec := newTextDecoder(string(line))
		tag := dec.word()
		if dec.accept(' ') && tag != "" {
			r.kind, r.typ = taggedResponse, keyword([]byte(dec.word()))
			if isTagged(r.typ) {
				dec.accept(' ')
				r.tag, r.text = tag, dec.rest()
				r.code, r.detail = responseCode(r.text)
				return ""
			}
		}
	}
	r.kind, r.text = garbageResponse, string(line)
	return ""
}

func isTagged(status string) bool { return status == "OK" || status == "NO" || status == "BAD" }

// parseUntagged splits "[n] TYPE [rest]" into its parts and returns the
// text imaplib2 stores for it: "n rest" (or "n") for numbered responses,
// "rest" for the others. It reports false for a line without a type or
// with a message number out of range.
func (r *response) parseUntagged(line []byte) (string, bool) {
	word, after, _ := bytes.Cut(line, []byte(" "))
	if len(word) == 0 || word[0] < '0' || word[0] > '9' {
		r.typ = keyword(word)
		text := string(after)
		if isStatus(r.typ) {
			r.text = text
			r.code, r.detail = responseCode(text)
		}
		return text, r.typ != ""
	}
	n, digits, ok := scanNumber(word)
	if !ok || digits != len(word) || n > 1<<32-1 {
		return "", false
	}
	typ, rest, _ := bytes.Cut(after, []byte(" "))
	r.num, r.typ = uint32(n), keyword(typ)
	if len(rest) == 0 {
		return string(word), r.typ != ""
	}
	var b strings.Builder
	b.Grow(len(word) + 1 + len(rest))
	b.Write(word)
	b.WriteByte(' ')
	b.Write(rest)
	return b.String(), r.typ != ""
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
// of a status text: "[UIDVALIDITY 42] ok" gives "UIDVALIDITY", "42"; a
// text without a well-formed code gives "", "".
func responseCode(text string) (code, detail string) {
	if !strings.HasPrefix(text, "[") {
		return "", ""
	}
	code, detail, err := newTextDecoder(text).respCode()
	if err != nil {
		return "", ""
	}
	return code, detail
}

// truncate shortens a line for an error message.
func truncate(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// textOf returns the text of the first Datum, or "".
func textOf(data []Datum) string {
	if len(data) == 0 {
		return ""
	}
	return data[0].Text
}
