package imaplib2

import (
	"fmt"
	"strings"
)

// MailboxInfo is one mailbox of a LIST or LSUB result.
type MailboxInfo struct {
	// Name is the mailbox's name in UTF-8: decoded from modified UTF-7, or
	// as sent under UTF8=ACCEPT. Mailbox arguments of every command accept
	// it as it is.
	Name       string
	Delimiter  string         // the hierarchy delimiter; "" for NIL
	Attributes []string       // as sent: `\HasNoChildren`, `\Noselect`, `\Sent`, ...
	Status     *MailboxStatus // from LIST-STATUS (RFC 5819), else nil
}

// Has reports whether the mailbox has the attribute attr, such as
// `\Noselect` or `\Sent`, ignoring case.
func (mb MailboxInfo) Has(attr string) bool {
	for _, a := range mb.Attributes {
		if strings.EqualFold(a, attr) {
			return true
		}
	}
	return false
}

// MailboxStatus is the STATUS data of a mailbox. Items the server did not
// return are zero.
type MailboxStatus struct {
	Mailbox                                                 string // UTF-8, decoded like MailboxInfo.Name
	Messages, Recent, UIDNext, UIDValidity, Unseen, Deleted uint32
	Size                                                    int64 // SIZE (STATUS=SIZE, RFC 8438)
	HighestModSeq                                           uint64
}

// Mailboxes returns the mailboxes of a LIST or LSUB result, in the order
// the server sent them, with the STATUS data that LIST-STATUS sends
// attached to the mailbox it names.
func (r Result) Mailboxes() ([]MailboxInfo, error) {
	var list []MailboxInfo
	var statuses []MailboxStatus
	err := eachResponse(r.Data, func(dec *decoder) error {
		if dec.peek() != '(' { // LIST-STATUS: a STATUS response among the LIST data
			st, err := dec.status()
			statuses = append(statuses, st)
			return err
		}
		mb, err := dec.mailboxInfo()
		if err == nil {
			list = append(list, mb)
		}
		return err
	})
	if err != nil {
		return list, err // the mailboxes read before the malformed response
	}
	if len(statuses) > 0 {
		first := make(map[string]int, len(list)) // a STATUS goes to the first mailbox of its name
		for j := len(list) - 1; j >= 0; j-- {
			first[list[j].Name] = j
		}
		for i := range statuses {
			if j, ok := first[statuses[i].Mailbox]; ok {
				list[j].Status = &statuses[i]
			}
		}
	}
	return list, nil
}

// mailboxInfo reads the data of a LIST or LSUB response:
// (attributes) delimiter name [extended data].
func (dec *decoder) mailboxInfo() (MailboxInfo, error) {
	var mb MailboxInfo
	mb.Attributes = []string{}
	err := dec.list(func() error {
		attr, err := dec.flag()
		mb.Attributes = append(mb.Attributes, attr)
		return err
	})
	if err == nil {
		err = dec.sp()
	}
	if err == nil {
		var delim []byte
		delim, err = dec.nstring()
		mb.Delimiter = string(delim)
	}
	if err == nil {
		err = dec.sp()
	}
	if err == nil {
		mb.Name, err = dec.mailboxName()
	}
	for err == nil && dec.accept(' ') { // RFC 5258 extended data, such as CHILDINFO
		err = dec.skipValue()
	}
	if err != nil {
		return mb, fmt.Errorf("LIST: %w", err)
	}
	return mb, nil
}

// mailboxName reads a mailbox name and returns it in UTF-8: a name in
// modified UTF-7 is decoded, any other one (UTF-8 mode) kept.
func (dec *decoder) mailboxName() (string, error) {
	name, err := dec.astring()
	if decoded, derr := DecodeMailboxName(name); derr == nil {
		name = decoded
	}
	return name, err
}

// MailboxStatus returns the data of a STATUS result (its first STATUS
// response).
func (r Result) MailboxStatus() (MailboxStatus, error) {
	dec := newDecoder(r.Data)
	if !dec.next() {
		return MailboxStatus{}, fmt.Errorf("%w: STATUS: no data", errProtocol)
	}
	return dec.status()
}

// counts returns the field of the 32-bit STATUS item, or nil.
func (st *MailboxStatus) counts(item string) *uint32 {
	switch item {
	case "MESSAGES":
		return &st.Messages
	case "RECENT":
		return &st.Recent
	case "UIDNEXT":
		return &st.UIDNext
	case "UIDVALIDITY":
		return &st.UIDValidity
	case "UNSEEN":
		return &st.Unseen
	case "DELETED":
		return &st.Deleted
	}
	return nil
}

// status reads the data of a STATUS response: mailbox (item value ...).
func (dec *decoder) status() (MailboxStatus, error) {
	var st MailboxStatus
	name, err := dec.mailboxName()
	st.Mailbox = name
	if err == nil {
		err = dec.sp()
	}
	var item string
	if err == nil {
		err = dec.list(func() error {
			var err error
			if item, err = dec.atom(); err != nil {
				return err
			}
			if err := dec.sp(); err != nil {
				return err
			}
			item = strings.ToUpper(item)
			if count := st.counts(item); count != nil {
				*count, err = dec.number()
				return err
			}
			switch item {
			case "SIZE":
				n, err := dec.number64()
				st.Size = int64(n)
				return err
			case "HIGHESTMODSEQ":
				st.HighestModSeq, err = dec.number64()
				return err
			}
			return dec.skipValue() // e.g. MAILBOXID (RFC 8474), not a number
		})
	}
	if err != nil {
		return st, fmt.Errorf("STATUS %s: %w", item, err)
	}
	return st, nil
}
