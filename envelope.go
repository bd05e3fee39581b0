package imaplib2

import (
	"net/mail"
	"strings"
	"time"
)

// Envelope is a message's ENVELOPE: its main header fields, parsed by the
// server (RFC 3501 §7.4.2).
type Envelope struct {
	Date                               time.Time // zero when missing or unparseable
	Subject                            string    // RFC 2047 decoded
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	InReplyTo                          string // as sent
	MessageID                          string // as sent
}

// Address is one address of an ENVELOPE.
type Address struct {
	Name    string // the display name, RFC 2047 decoded
	Mailbox string
	Host    string
}

// Addr returns "mailbox@host", or "mailbox" when Host is empty.
func (a Address) Addr() string {
	if a.Host == "" {
		return a.Mailbox
	}
	return a.Mailbox + "@" + a.Host
}

// envelope reads an ENVELOPE, or NIL.
func (dec *decoder) envelope() (*Envelope, error) {
	if dec.nil() {
		return nil, nil
	}
	env := &Envelope{}
	field := 0
	err := dec.list(func() error {
		var err error
		switch field {
		case 0:
			var date string
			if date, err = dec.nstringText(); err == nil && date != "" {
				env.Date = parseHeaderDate(date)
			}
		case 1:
			var subject string
			subject, err = dec.nstringText()
			env.Subject = decodeHeader(subject)
		case 2, 3, 4, 5, 6, 7:
			lists := [...]*[]Address{&env.From, &env.Sender, &env.ReplyTo, &env.To, &env.Cc, &env.Bcc}
			*lists[field-2], err = dec.addresses()
		case 8:
			env.InReplyTo, err = dec.nstringText()
		case 9:
			env.MessageID, err = dec.nstringText()
		default:
			err = dec.skipValue() // extensions beyond RFC 3501
		}
		field++
		return err
	})
	if err == nil && field < 10 {
		err = dec.errorf("ENVELOPE with %d fields, want 10", field)
	}
	return env, err
}

// parseHeaderDate parses the Date header of a message (RFC 5322 §3.3),
// "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", and returns the zero time when
// it cannot. The usual form is read directly; net/mail's more lenient
// parser takes the rest.
func parseHeaderDate(s string) time.Time {
	if t, ok := parseUsualDate(s); ok {
		return t
	}
	t, err := mail.ParseDate(s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseUsualDate parses "[Day, ]D Mon YYYY HH:MM[:SS] +HHMM[ (comment)]".
func parseUsualDate(s string) (time.Time, bool) {
	dec := newTextDecoder(s)
	if i := strings.IndexByte(s, ','); i >= 0 && i <= 4 {
		dec.pos = i + 1
	}
	num := func(min, max uint64, sep byte) (int, bool) {
		dec.skipWhite(isASCIISpace)
		n, digits, ok := scanNumber(dec.text[dec.pos:])
		dec.pos += digits
		ok = ok && digits > 0 && digits <= 4 && n >= min && n <= max
		return int(n), ok && (sep == 0 || dec.accept(sep))
	}
	day, ok1 := num(1, 31, ' ')
	month, ok2 := Mon2num(dec.token(func(c rune) bool { return c == ' ' }))
	year, ok3 := num(1000, 9999, 0)
	hour, ok4 := num(0, 23, ':')
	minute, ok5 := num(0, 59, 0)
	sec, ok6 := 0, true
	if dec.accept(':') {
		sec, ok6 = num(0, 60, 0)
	}
	dec.skipWhite(isASCIISpace)
	sign := dec.peek()
	dec.pos++
	zone, digits, ok7 := scanNumber(dec.text[min(dec.pos, len(dec.text)):])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || digits != 4 || sign != '+' && sign != '-' || day > daysInMonth(time.Month(month), year) {
		return time.Time{}, false
	}
	offset := int(zone/100)*3600 + int(zone%100)*60
	if sign == '-' {
		offset = -offset
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.FixedZone("", offset)), true
}

// nstringText reads NIL ("") or a string, as text; a quoted string
// without escapes costs no copy.
func (dec *decoder) nstringText() (string, error) {
	if dec.peek() == '"' {
		return dec.quoted()
	}
	b, err := dec.nstring()
	return string(b), err
}

// addresses reads a list of addresses, or NIL. Group syntax (RFC 2822
// groups, sent as an address with a NIL host before and after the group's
// members) is flattened: the markers are dropped, the members kept.
func (dec *decoder) addresses() ([]Address, error) {
	if dec.nil() {
		return nil, nil
	}
	var list []Address
	err := dec.adjacent(func() error {
		var fields [4][]byte
		i := 0
		err := dec.list(func() error {
			if i >= len(fields) {
				return dec.errorf("address with more than 4 fields")
			}
			var err error
			fields[i], err = dec.nstring()
			i++
			return err
		})
		switch {
		case err != nil:
			return err
		case i != len(fields):
			return dec.errorf("address with %d fields, want 4", i)
		case fields[3] == nil: // NIL host: a group's start (the mailbox is its name) or end
			return nil
		}
		list = append(list, Address{Name: decodeHeader(string(fields[0])), Mailbox: string(fields[2]), Host: string(fields[3])})
		return nil
	})
	return list, err
}
