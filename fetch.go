package imaplib2

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Message is one message of a FETCH result, typed. Fields that the server
// did not return keep their zero value.
type Message struct {
	SeqNum        uint32
	UID           uint32
	Flags         []string  // as sent (`\Seen`, "$Junk"); nil when FLAGS was not returned
	InternalDate  time.Time // INTERNALDATE
	Size          int64     // RFC822.SIZE
	ModSeq        uint64    // MODSEQ (CONDSTORE, RFC 7162)
	Envelope      *Envelope // nil when not returned
	BodyStructure *BodyStructure
	// Sections holds the message's contents the server returned: BODY[...],
	// BINARY[...], RFC822, RFC822.HEADER and RFC822.TEXT, in order.
	Sections      []Section
	EmailID       string   // EMAILID (RFC 8474)
	ThreadID      string   // THREADID (RFC 8474)
	GmailMsgID    uint64   // X-GM-MSGID
	GmailThreadID uint64   // X-GM-THRID
	GmailLabels   []string // X-GM-LABELS, decoded from modified UTF-7
}

// Section is one body section of a FETCH response.
type Section struct {
	Name string // the item as the server named it: "BODY[HEADER.FIELDS (SUBJECT)]", "BODY[]<0>", "RFC822"
	Data []byte // nil for NIL; an empty literal or "" is empty and non-nil
}

// Messages returns every FETCH response of r, typed, in the order they
// arrived. Responses for the same message (some servers send the FLAGS of
// a message in a response of their own) are merged into one Message. Data
// of other responses that a command collected with them (the VANISHED of
// a QRESYNC SELECT) is skipped.
// Malformed data gives an error that names the item and the text.
func (r Result) Messages() ([]Message, error) {
	var msgs []Message
	index := map[uint32]int{} // SeqNum -> index in msgs
	err := eachResponse(r.Data, func(dec *decoder) error {
		if isVanishedData(dec.text[dec.pos:]) { // a QRESYNC SELECT collects VANISHED too
			return nil
		}
		msg, err := dec.message()
		if err != nil {
			return err
		}
		if i, ok := index[msg.SeqNum]; ok {
			msgs[i].merge(msg)
		} else {
			index[msg.SeqNum] = len(msgs)
			msgs = append(msgs, msg)
		}
		return nil
	})
	return msgs, err
}

// isFetchData reports whether text starts like the data of a FETCH
// response, "n (", which VANISHED data never does.
func isFetchData(text string) bool {
	_, digits, _ := scanNumber(text)
	return digits > 0 && strings.HasPrefix(text[digits:], " (")
}

// isVanishedData reports whether text is the data of a VANISHED response,
// "(EARLIER) 41,43:116" or "405,407", which FETCH data never is.
func isVanishedData(text string) bool {
	if len(text) >= 9 && strings.EqualFold(text[:9], "(EARLIER)") {
		return true
	}
	_, ok := parseSeqSet(text)
	return ok
}

// ParseMessage parses one FETCH response, such as the data FetchFunc hands
// over. The Message never refers to the memory of data, which FetchFunc
// reuses.
func ParseMessage(data []Datum) (Message, error) {
	dec := newDecoder(data)
	msg, err := dec.message()
	if err == nil && !dec.atEnd() {
		err = dec.errorf("FETCH: unexpected data after the message")
	}
	return msg, err
}

// message reads a FETCH response: the message number and its list of
// items.
func (dec *decoder) message() (Message, error) {
	var msg Message
	n, err := dec.number()
	if err != nil {
		return msg, fmt.Errorf("FETCH: %w", err)
	}
	msg.SeqNum = n
	if err := dec.sp(); err != nil {
		return msg, fmt.Errorf("FETCH: %w", err)
	}
	err = dec.fetchItems(func(name string) error {
		if err := dec.fetchItem(&msg, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return msg, fmt.Errorf("FETCH %d: %w", msg.SeqNum, err)
	}
	return msg, nil
}

// fetchItems reads the list of a FETCH response's items, calling value
// with each item's name (as sent, e.g. "BODY[1]<0>") to read its value.
func (dec *decoder) fetchItems(value func(name string) error) error {
	return dec.list(func() error {
		start, line := dec.pos, dec.d
		if err := dec.skipValue(); err != nil {
			return err
		}
		if dec.d != line { // a literal where the name belongs
			return dec.errorf("want an item name, not a literal")
		}
		name := dec.text[start:dec.pos]
		if err := dec.sp(); err != nil {
			return err
		}
		return value(name)
	})
}

// fetchItem reads the value of the FETCH item name into msg.
func (dec *decoder) fetchItem(msg *Message, name string) error {
	var err error
	switch item := strings.ToUpper(name); {
	case item == "UID":
		msg.UID, err = dec.number()
	case item == "FLAGS":
		msg.Flags, err = dec.flags()
	case item == "INTERNALDATE":
		var s string
		if s, err = dec.quoted(); err == nil {
			msg.InternalDate, err = parseDateTime([]byte(s))
		}
	case item == "RFC822.SIZE":
		var n uint64
		n, err = dec.number64()
		msg.Size = int64(n)
	case item == "MODSEQ":
		err = dec.list(func() (err error) { msg.ModSeq, err = dec.number64(); return err })
	case item == "ENVELOPE":
		msg.Envelope, err = dec.envelope()
	case item == "BODYSTRUCTURE" || item == "BODY" && dec.peek() == '(':
		msg.BodyStructure, err = dec.body(0)
	case strings.HasPrefix(item, "BODY[") || strings.HasPrefix(item, "BINARY[") ||
		item == "RFC822" || item == "RFC822.HEADER" || item == "RFC822.TEXT":
		var data []byte
		if data, err = dec.nstring(); err == nil {
			data = slices.Clone(data) // never FetchFunc's reused buffer
			msg.Sections = append(msg.Sections, Section{Name: name, Data: data})
		}
	case item == "EMAILID":
		err = dec.list(func() (err error) { msg.EmailID, err = dec.atom(); return err })
	case item == "THREADID":
		if !dec.nil() {
			err = dec.list(func() (err error) { msg.ThreadID, err = dec.atom(); return err })
		}
	case item == "X-GM-MSGID":
		msg.GmailMsgID, err = dec.number64()
	case item == "X-GM-THRID":
		msg.GmailThreadID, err = dec.number64()
	case item == "X-GM-LABELS":
		msg.GmailLabels = []string{}
		err = dec.list(func() error {
			label, err := dec.labelOrFlag()
			if decoded, derr := DecodeMailboxName(label); derr == nil {
				label = decoded
			}
			msg.GmailLabels = append(msg.GmailLabels, label)
			return err
		})
	default:
		err = dec.skipValue()
	}
	return err
}

// flags reads a parenthesized list of flags as sent; "()" gives an empty,
// non-nil slice.
func (dec *decoder) flags() ([]string, error) {
	flags := []string{}
	err := dec.list(func() error {
		f, err := dec.labelOrFlag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// labelOrFlag reads a flag (`\Seen`, `\*`, "$Junk") or an astring, as
// Gmail's labels are.
func (dec *decoder) labelOrFlag() (string, error) {
	if dec.peek() == '\\' {
		return dec.flag()
	}
	return dec.astring()
}

// merge adds what another response for the same message says.
func (msg *Message) merge(o Message) {
	override(&msg.UID, o.UID)
	override(&msg.InternalDate, o.InternalDate)
	override(&msg.Size, o.Size)
	override(&msg.ModSeq, o.ModSeq)
	override(&msg.Envelope, o.Envelope)
	override(&msg.BodyStructure, o.BodyStructure)
	override(&msg.EmailID, o.EmailID)
	override(&msg.ThreadID, o.ThreadID)
	override(&msg.GmailMsgID, o.GmailMsgID)
	override(&msg.GmailThreadID, o.GmailThreadID)
	if o.Flags != nil {
		msg.Flags = o.Flags
	}
	if o.GmailLabels != nil {
		msg.GmailLabels = o.GmailLabels
	}
	msg.Sections = append(msg.Sections, o.Sections...)
}

// override sets *dst to v unless v is the zero value.
func override[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// Body returns the data of the section the server answered for item, as
// the caller wrote it in the FETCH: "BODY[]", "BODY.PEEK[TEXT]",
// "BODY[1.2]<0.2048>", "BINARY.PEEK[1]", "RFC822". ".PEEK" is ignored,
// case and spacing do not matter, a partial "<origin.count>" matches the
// answer "<origin>", and the field names of HEADER.FIELDS (...) match
// whether or not the server quoted them. A request without a partial never
// matches a partial answer. It returns nil when there is no such section.
func (m Message) Body(item string) []byte {
	want := sectionKey(item, true)
	for _, s := range m.Sections {
		if sectionKey(s.Name, false) == want {
			return s.Data
		}
	}
	return nil
}

// sectionKey returns the canonical form of a section item: upper case,
// without ".PEEK", single spaces, field names unquoted, and a partial
// reduced to its origin (of a request: "<0.2048>" -> "<0>").
func sectionKey(item string, request bool) string {
	item = strings.ToUpper(strings.TrimSpace(item))
	item = strings.Replace(item, ".PEEK[", "[", 1)
	var b strings.Builder
	space := false
	for i := 0; i < len(item); i++ {
		switch c := item[i]; c {
		case '"':
		case ' ', '\t':
			space = true
		default:
			if space && b.Len() > 0 && c != '(' && c != ')' && c != ']' {
				last := b.String()[b.Len()-1]
				if last != '(' && last != '[' {
					b.WriteByte(' ')
				}
			}
			space = false
			b.WriteByte(c)
		}
	}
	key := b.String()
	if open := strings.LastIndexByte(key, '<'); request && open > strings.LastIndexByte(key, ']') {
		if dot := strings.IndexByte(key[open:], '.'); dot > 0 {
			key = key[:open+dot] + ">"
		}
	}
	return key
}
