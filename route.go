package imaplib2

import (
	"cmp"
	"errors"
	"slices"
	"strings"
)

// This file holds the routing of untagged responses: which pending command
// each one belongs to, and the store of those that belong to none.

// An entry is one untagged response (or response code), stamped with the
// order of its arrival.
type entry struct {
	seq  uint64
	typ  string
	data []Datum
}

// A router routes each untagged response, as it arrives, to the oldest
// pending command that collects its type and whose key it matches, or else
// to the store of unsolicited responses. Its fields are guarded by
// IMAP4.mu.
//
// The key of a response is what names its command. FETCH data carries a
// message number and, for UID commands, a UID; STATUS data its mailbox.
// Data of the other types carries no key, which is why a command that
// collects such a type never shares the wire with an earlier one that
// collects it too (see commandSpec.collects): the oldest collector is then
// the only one.
type router struct {
	arrivals   uint64                // untagged responses so far
	collectors map[string][]*Command // pending commands by the types they collect, oldest first
	keepers    map[string][]*Command // pending commands by the response code they keep
	streams    int                   // pending FetchFunc commands
	store      unsolicitedStore
}

func newRouter(limit int) router {
	return router{collectors: make(map[string][]*Command), store: unsolicitedStore{limit: limit}}
}

// register records that c, just sent, collects its types.
func (rt *router) register(c *Command) {
	if c.each != nil {
		rt.streams++
	}
	for _, typ := range c.collect {
		rt.collectors[typ] = append(rt.collectors[typ], c)
	}
	if code := c.spec.keepsCode; code != "" {
		if rt.keepers == nil {
			rt.keepers = make(map[string][]*Command) // only for the few commands that keep a code
		}
		rt.keepers[code] = append(rt.keepers[code], c)
	}
}

// unregister records that c has its tagged response: nothing more is
// routed to it.
func (rt *router) unregister(c *Command) {
	if c.each != nil {
		rt.streams--
	}
	for _, typ := range c.collect {
		rt.collectors[typ] = without(rt.collectors[typ], c)
	}
	if code := c.spec.keepsCode; code != "" {
		rt.keepers[code] = without(rt.keepers[code], c)
	}
}

// without returns list without c, keeping the order. Commands mostly
// complete near the front of the list (the oldest first), so the shorter
// side of it is moved: with thousands of commands pipelined, moving the
// rest of the list for each completion would cost time quadratic in
// their number.
func without(list []*Command, c *Command) []*Command {
	i := slices.Index(list, c)
	switch {
	case i < 0:
		return list
	case i < len(list)/2:
		copy(list[1:i+1], list[:i])
		list[0] = nil
		return list[1:]
	}
	return slices.Delete(list, i, i+1)
}

// keepCode gives the data of a response code to the oldest pending
// command that keeps that code, if there is one.
func (rt *router) keepCode(code, data string) {
	if list := rt.keepers[code]; len(list) > 0 {
		list[0].keptCode = data
	}
}

// busy reports whether a pending command collects one of the keyless
// types that c collects, so that c must wait for it.
func (rt *router) busy(c *Command) bool {
	for _, typ := range c.collect {
		if !keyedTypes[typ] && len(rt.collectors[typ]) > 0 {
			return true
		}
	}
	return false
}

// route returns the pending command that an untagged response of typ
// (with message number num) belongs to, or nil if it is unsolicited.
func (rt *router) route(typ string, num uint32, data []Datum) *Command {
	list := rt.collectors[typ]
	switch {
	case len(list) == 0:
		return nil
	case typ == "FETCH":
		return routeFetch(list, num, data)
	case typ == "STATUS":
		return routeStatus(list, data)
	case typ == "ESEARCH":
		return routeESearch(list, data)
	}
	return list[0]
}

// routeESearch returns the command whose tag the ESEARCH response names
// in its correlator, (TAG "A282"); one without a correlator goes to a sole
// collector.
func routeESearch(list []*Command, data []Datum) *Command {
	dec := newDecoder(data)
	var tag string
	if dec.peek() == '(' {
		dec.list(func() error {
			key, err := dec.atom()
			if err == nil && strings.EqualFold(key, "TAG") && dec.sp() == nil {
				tag, err = dec.astring()
			} else if err == nil && dec.sp() == nil {
				err = dec.skipValue()
			}
			return err
		})
	}
	for _, c := range list {
		if tag != "" && c.tag == tag {
			return c
		}
	}
	if tag == "" && len(list) == 1 {
		return list[0]
	}
	return nil
}

// routeFetch returns the oldest command of list whose message set holds
// the FETCH response's number (or UID). Failing that, a response that only
// one command could own goes to it: one whose "n:*" may reach below n, or
// a UID command answered without the UID that RFC 3501 requires (as GNU
// imap4d does).
func routeFetch(list []*Command, num uint32, data []Datum) *Command {
	var could *Command
	candidates := 0
	uid, uidRead := uint32(0), false
	for _, c := range list {
		key := num
		if c.set != nil && c.spec.byUID {
			if !uidRead {
				uid, uidRead = fetchUID(data), true
			}
			if key = uid; key == 0 {
				could, candidates = c, candidates+1
				continue
			}
		}
		switch {
		case c.set == nil || c.set.contains(key):
			return c
		case c.set.mayContain(key):
			could, candidates = c, candidates+1
		}
	}
	if candidates == 1 {
		return could
	}
	return nil
}

// errFound stops a decoder's walk once it has found what it looks for.
var errFound = errors.New("found")

// fetchUID returns the UID among the items of a FETCH response, or 0.
func fetchUID(data []Datum) uint32 {
	var uid uint32
	if !fetchItem(data, "UID", func(dec *decoder) (err error) { uid, err = dec.number(); return err }) {
		return 0
	}
	return uid
}

// fetchModSeq returns the MODSEQ among the items of a FETCH response, or 0.
func fetchModSeq(data []Datum) uint64 {
	var modSeq uint64
	if !fetchItem(data, "MODSEQ", func(dec *decoder) error {
		return dec.list(func() (err error) { modSeq, err = dec.number64(); return err })
	}) {
		return 0
	}
	return modSeq
}

// fetchItem walks the items of a FETCH response ("12 (UID 7 FLAGS ...)")
// and has read parse the value of the first one called name; it reports
// whether there was one and read succeeded. Values are skipped by the
// grammar, so a string that looks like an item is never taken for one.
func fetchItem(data []Datum, name string, read func(dec *decoder) error) bool {
	dec := newDecoder(data)
	if _, err := dec.number(); err != nil || dec.sp() != nil {
		return false
	}
	err := dec.fetchItems(func(item string) error {
		if !strings.EqualFold(item, name) {
			return dec.skipValue()
		}
		if err := read(dec); err != nil {
			return err
		}
		return errFound
	})
	return err == errFound
}

// routeStatus returns the oldest command of list that the STATUS response
// is for: one that names no mailbox (a LIST with RETURN (STATUS ...))
// takes every one; a STATUS command takes the one of the mailbox it asked
// for, once. With none, a sole collector gets it.
func routeStatus(list []*Command, data []Datum) *Command {
	name, err := newDecoder(data).astring()
	if err == nil {
		for _, c := range list {
			if c.statusOf == "" {
				return c
			}
			if len(c.collected) > 0 {
				continue
			}
			if c.statusOf == name || strings.EqualFold(name, "INBOX") && strings.EqualFold(c.statusOf, "INBOX") {
				return c
			}
		}
	}
	if len(list) == 1 {
		return list[0]
	}
	return nil
}

// unsolicitedStore keeps the untagged responses that no command collected,
// in order of arrival, for Response, Recent and PopUntaggedResponses.
// Beyond limit entries, each new one makes room by dropping the oldest, so
// that a server flooding a client that never reads them cannot grow memory
// without bound. Data that a command collects is never here, and never
// counts.
type unsolicitedStore struct {
	entries []entry
	counts  map[string]int // entries of each type, kept once there are many entries
	limit   int
	dropped int // entries dropped for the limit
}

// countedStore is the number of entries from which the store counts them
// by type, so that looking for an absent type does not scan them all. A
// few entries (what SELECT leaves) are cheaper to scan than to count.
const countedStore = 64

// add stores an entry, dropping the oldest one if the store is full.
func (s *unsolicitedStore) add(e entry) {
	if len(s.entries) >= s.limit {
		s.dropOldest()
	}
	s.entries = append(s.entries, e)
	s.count(e.typ)
}

// dropOldest drops the oldest entry to make room.
func (s *unsolicitedStore) dropOldest() {
	s.forget(s.entries[0].typ)
	s.entries[0] = entry{} // the backing array keeps no reference to its data
	s.entries = s.entries[1:]
	s.dropped++
}

// count counts one entry of typ more, once the store counts.
func (s *unsolicitedStore) count(typ string) {
	switch {
	case s.counts != nil:
		s.counts[typ]++
	case len(s.entries) >= countedStore:
		s.counts = make(map[string]int)
		for _, e := range s.entries {
			s.counts[e.typ]++
		}
	}
}

// forget counts one entry of typ less.
func (s *unsolicitedStore) forget(typ string) {
	if s.counts == nil {
		return
	}
	if s.counts[typ]--; s.counts[typ] == 0 {
		delete(s.counts, typ)
	}
}

// putBack returns entries that a command collected but does not keep
// (it failed) to the store, in order of arrival among the others.
func (s *unsolicitedStore) putBack(entries []entry) {
	for _, e := range entries {
		i, _ := slices.BinarySearchFunc(s.entries, e.seq, func(x entry, seq uint64) int { return cmp.Compare(x.seq, seq) })
		s.entries = slices.Insert(s.entries, i, e)
		s.count(e.typ)
	}
	for len(s.entries) > s.limit {
		s.dropOldest()
	}
}

// take removes and returns the data of every entry of typ, in order of
// arrival.
func (s *unsolicitedStore) take(typ string) []Datum {
	if s.counts != nil && s.counts[typ] == 0 {
		return nil
	}
	var taken []Datum
	kept := s.entries[:0]
	for _, e := range s.entries {
		if e.typ == typ {
			taken = append(taken, e.data...)
		} else {
			kept = append(kept, e)
		}
	}
	clear(s.entries[len(kept):])
	s.entries = kept
	delete(s.counts, typ)
	return taken
}

// discardStatus drops the stored OK, NO and BAD responses, as imaplib2
// does before it sends a command, in one pass.
func (s *unsolicitedStore) discardStatus() {
	if s.counts != nil && s.counts["OK"]+s.counts["NO"]+s.counts["BAD"] == 0 {
		return
	}
	kept := s.entries[:0]
	for _, e := range s.entries {
		switch e.typ {
		case "OK", "NO", "BAD":
			s.forget(e.typ)
		default:
			kept = append(kept, e)
		}
	}
	clear(s.entries[len(kept):])
	s.entries = kept
}

// flush discards everything, as a new selection does.
func (s *unsolicitedStore) flush() {
	clear(s.entries)
	s.entries = s.entries[:0]
	s.counts = nil
}

// popAll removes every entry and returns them in order of arrival, with
// consecutive responses of one type grouped as imaplib2 groups them.
func (s *unsolicitedStore) popAll() []Untagged {
	var groups []Untagged
	for _, e := range s.entries {
		if n := len(groups); n > 0 && groups[n-1].Type == e.typ {
			groups[n-1].Data = append(groups[n-1].Data, e.data...)
			continue
		}
		groups = append(groups, Untagged{Type: e.typ, Data: append([]Datum(nil), e.data...)})
	}
	s.flush()
	return groups
}

// collectedData returns what c collected, type by type in the order of its
// description, each type in order of arrival.
func (c *Command) collectedData() []Datum {
	if len(c.collected) == 1 {
		return c.collected[0].data // no copy for the usual single response
	}
	var data []Datum
	for _, typ := range c.collect {
		for _, e := range c.collected {
			if e.typ == typ {
				data = append(data, e.data...)
			}
		}
	}
	return data
}
