package imaplib2

import (
	"net/mail"
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
				if t, perr := mail.ParseDate(date); perr == nil {
					env.Date = t
				}
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

// nstringText reads NIL ("") or a string, as text.
func (dec *decoder) nstringText() (string, error) {
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
