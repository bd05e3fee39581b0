//go:build perf && linux

// Workloads W3p, W5 and W6 of the performance harness; see the comment at
// the top of perf_test.go.
package imaplib2

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// perfHeaderItems are the FETCH items of W6: what a mail client's
	// message list needs.
	perfHeaderItems = "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
	perfAppendBox   = "perf-append" // W5's mailbox, deleted and created by every run
)

// ---- W3p -------------------------------------------------------------------------

// w3pOurs issues the W3 SEARCH commands all at once, then waits for all of
// them. With esearch, and when the server offers ESEARCH, each goes as
// SEARCH RETURN (ALL) <criteria>: Search pipelines a SEARCH with RETURN
// options, whose ESEARCH answer names its command's tag; a plain SEARCH
// (without esearch) waits in the library for the one before it to complete,
// because plain SEARCH data names no command. After the timed phase every
// result must hold the numbers its criterion gives when it runs alone.
func (h *perfHarness) w3pOurs(esearch bool) (perfRun, error) {
	crit := perfCriteriaKeys()
	return h.runOurs("INBOX", func(m *IMAP4, _ int, r *perfRun) error {
		form, keys := "plain SEARCH <criteria>", crit
		if esearch && slices.Contains(m.Capabilities(), "ESEARCH") {
			form, keys = "SEARCH RETURN (ALL) <criteria>", make([][]string, len(crit))
			for i, k := range crit {
				keys[i] = append([]string{"RETURN", "(ALL)"}, k...)
			}
		}
		if esearch {
			h.searchForm = form
		}
		n := *perfSearches
		cmds := make([]*Command, n)
		results := make([]Result, n)
		var err error
		meter := perfStart()
		for i := range cmds {
			cmds[i] = m.Search("", keys[i%len(keys)]...)
		}
		for i, c := range cmds {
			if results[i], err = perfWait(c); err != nil {
				break
			}
		}
		meter.end(r)
		if err != nil {
			return fmt.Errorf("%s: %w", form, err)
		}
		// Not timed: each criterion alone, one after another.
		want := make([][]uint32, len(crit))
		for i, k := range crit {
			if want[i], err = perfNums(perfWait(m.Search("", k...))); err != nil {
				return fmt.Errorf("SEARCH %s alone: %w", perfCriteria[i], err)
			}
		}
		for i, res := range results {
			got, err := perfNums(res, nil)
			if err != nil {
				return fmt.Errorf("%s #%d: %w", form, i, err)
			}
			r.hits += len(got)
			if !slices.Equal(got, want[i%len(want)]) {
				r.misrouted++
			}
		}
		if r.misrouted > 0 {
			return fmt.Errorf("%s: %d of %d results differ from their criterion's result alone", form, r.misrouted, n)
		}
		return nil
	})
}

// perfNums returns the numbers of a SEARCH or ESEARCH result, sorted.
func perfNums(res Result, err error) ([]uint32, error) {
	if err != nil {
		return nil, err
	}
	nums, err := res.Nums()
	slices.Sort(nums)
	return nums, err
}

// ---- W6 --------------------------------------------------------------------------

func (h *perfHarness) w6Drain() (perfRun, error) { return h.fetchDrain(perfHeaderItems) }

// perfHeaders sums up the typed W6 messages, so that every item is really
// parsed and can be checked against the corpus.
type perfHeaders struct {
	messages, multipart, attachments int
	incomplete                       int // messages that lack one of the items
	size                             int64
	uidMax                           uint32
	err                              error // the first parse error
}

func (s *perfHeaders) add(msg *Message, err error) {
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.messages++
	s.size += msg.Size
	s.uidMax = max(s.uidMax, msg.UID)
	if msg.UID == 0 || msg.Flags == nil || msg.InternalDate.IsZero() || msg.Envelope == nil ||
		len(msg.Envelope.From) == 0 || msg.Envelope.Subject == "" || msg.BodyStructure == nil {
		s.incomplete++
		return
	}
	if strings.HasPrefix(msg.BodyStructure.MediaType, "multipart/") {
		s.multipart++
	}
	named := false
	msg.BodyStructure.Walk(func(_ string, part *BodyStructure) bool {
		named = named || part.Filename() != ""
		return !named
	})
	if named {
		s.attachments++
	}
}

// w6Ours runs W6 with collect, which fetches set with perfHeaderItems and
// adds every message to s.
func (h *perfHarness) w6Ours(collect func(m *IMAP4, set string, s *perfHeaders) error) (perfRun, error) {
	return h.runOurs("INBOX", func(m *IMAP4, n int, r *perfRun) error {
		var s perfHeaders
		meter := perfStart()
		err := collect(m, fmt.Sprintf("1:%d", n), &s)
		meter.end(r)
		if err == nil {
			err = s.err
		}
		if err != nil {
			return err
		}
		r.messages, r.bytes, r.attachments = s.messages, s.size, s.attachments
		c := h.corpus.inbox
		if n != c.n || s.messages != n || s.size != c.bytes || s.multipart != c.multipart ||
			s.attachments != c.attachments || s.uidMax != uint32(n) || s.incomplete != 0 {
			return fmt.Errorf("EXISTS %d, parsed %d messages (%d incomplete), Σ RFC822.SIZE %d, %d multipart, %d with attachments, UID max %d; "+
				"want %d messages, Σ %d, %d multipart, %d with attachments", n, s.messages, s.incomplete, s.size, s.multipart, s.attachments,
				s.uidMax, c.n, c.bytes, c.multipart, c.attachments)
		}
		return nil
	})
}

// w6Messages holds every message: Fetch, then Result.Messages.
func (h *perfHarness) w6Messages() (perfRun, error) {
	return h.w6Ours(func(m *IMAP4, set string, s *perfHeaders) error {
		res, err := perfWait(m.Fetch(set, perfHeaderItems))
		if err != nil {
			return err
		}
		msgs, err := res.Messages()
		for i := range msgs {
			s.add(&msgs[i], nil)
		}
		return err
	})
}

// w6Stream parses one message at a time: FetchFunc + ParseMessage, on the
// reader goroutine.
func (h *perfHarness) w6Stream() (perfRun, error) {
	return h.w6Ours(func(m *IMAP4, set string, s *perfHeaders) error {
		return perfOK(m.FetchFunc(set, perfHeaderItems, func(data []Datum) {
			msg, err := ParseMessage(data)
			s.add(&msg, err)
		}))
	})
}

// ---- W5 --------------------------------------------------------------------------

// perfAppender is one client's side of W5, on a connection that has
// "small" selected.
type perfAppender interface {
	bodies(n int) ([][]byte, error)            // FETCH 1:n (BODY.PEEK[])
	recreate(box string) error                 // DELETE (it may not exist), CREATE
	appendAll(box string, msgs [][]byte) error // every APPEND at once: the timed phase
	messages(box string) (int, error)          // STATUS (MESSAGES)
	remove(box string) error                   // DELETE
	close()
}

// w5 runs W5 with the client that open connects.
func (h *perfHarness) w5(open func() (perfAppender, int, error)) (perfRun, error) {
	var r perfRun
	a, n, err := open()
	if err != nil {
		return r, err
	}
	defer a.close()
	msgs, err := a.bodies(n)
	if err != nil {
		return r, fmt.Errorf("reading small: %w", err)
	}
	for _, msg := range msgs {
		r.bytes += int64(len(msg))
	}
	if len(msgs) != h.corpus.small.n || r.bytes != h.corpus.small.bytes {
		return r, fmt.Errorf("read %d messages of %d bytes from small, want %d of %d", len(msgs), r.bytes, h.corpus.small.n, h.corpus.small.bytes)
	}
	if err := a.recreate(perfAppendBox); err != nil {
		return r, fmt.Errorf("re-creating %s: %w", perfAppendBox, err)
	}
	meter := perfStart()
	err = a.appendAll(perfAppendBox, msgs)
	meter.end(&r)
	if err != nil {
		return r, err
	}
	if r.messages, err = a.messages(perfAppendBox); err != nil {
		return r, fmt.Errorf("STATUS %s: %w", perfAppendBox, err)
	}
	if err := a.remove(perfAppendBox); err != nil {
		return r, fmt.Errorf("DELETE %s: %w", perfAppendBox, err)
	}
	if r.messages != len(msgs) {
		return r, fmt.Errorf("%s holds %d messages after %d APPENDs", perfAppendBox, r.messages, len(msgs))
	}
	return r, nil
}

// w5Drain pipelines the APPENDs with non-synchronising literals, so it
// needs LITERAL+ (RFC 7888).
func (h *perfHarness) w5Drain() (perfRun, error) {
	return h.w5(func() (perfAppender, int, error) {
		c, n, err := h.rawOpen("small", 256<<10)
		if err != nil {
			return nil, 0, err
		}
		var caps []string
		err = c.command("C", "CAPABILITY", func(l []byte) {
			if rest, ok := bytes.CutPrefix(l, []byte("* CAPABILITY ")); ok {
				caps = strings.Fields(strings.ToUpper(string(rest)))
			}
		})
		if err == nil && !slices.Contains(caps, "LITERAL+") {
			err = fmt.Errorf("W5: the server does not offer LITERAL+, which the drain client needs to pipeline APPENDs (CAPABILITY %s)", strings.Join(caps, " "))
		}
		if err != nil {
			c.logout()
			return nil, 0, err
		}
		return c, n, nil
	})
}

func (h *perfHarness) w5Ours() (perfRun, error) {
	return h.w5(func() (perfAppender, int, error) {
		m, n, err := h.open("small")
		if err != nil {
			return nil, 0, err
		}
		return perfOurs{m}, n, nil
	})
}

// The drain client's side of W5.

func (c *perfRaw) bodies(n int) ([][]byte, error) {
	c.keepLits, c.lits = true, nil
	defer func() { c.keepLits, c.lits = false, nil }()
	err := c.command("F", fmt.Sprintf("FETCH 1:%d %s", n, perfFetchParts), nil)
	return c.lits, err
}

func (c *perfRaw) recreate(box string) error {
	_ = c.command("D", "DELETE "+perfQuote(box), nil) // it may not exist
	return c.command("C", "CREATE "+perfQuote(box), nil)
}

func (c *perfRaw) appendAll(box string, msgs [][]byte) error {
	return c.pipeline("APPEND", len(msgs), func(bw *bufio.Writer) {
		prefix, line := " APPEND "+perfQuote(box)+" {", []byte(nil)
		for i, msg := range msgs { // A<i> APPEND <box> {<size>+}
			line = strconv.AppendInt(append(line[:0], 'A'), int64(i), 10)
			line = strconv.AppendInt(append(line, prefix...), int64(len(msg)), 10)
			line = append(line, "+}\r\n"...)
			bw.Write(line)
			bw.Write(msg)
			bw.WriteString("\r\n")
		}
	})
}

func (c *perfRaw) messages(box string) (int, error) {
	n := -1
	err := c.command("S", "STATUS "+perfQuote(box)+" (MESSAGES)", func(l []byte) {
		if _, v, ok := bytes.Cut(l, []byte("(MESSAGES ")); ok && bytes.HasPrefix(l, []byte("* STATUS ")) {
			n, _ = strconv.Atoi(string(bytes.TrimRight(v, ")")))
		}
	})
	if err == nil && n < 0 {
		err = fmt.Errorf("no MESSAGES in the STATUS response")
	}
	return n, err
}

func (c *perfRaw) remove(box string) error { return c.command("D", "DELETE "+perfQuote(box), nil) }

func (c *perfRaw) close() { c.logout() }

// perfOurs is our client's side of W5.
type perfOurs struct{ m *IMAP4 }

func (o perfOurs) bodies(n int) ([][]byte, error) {
	res, err := perfWait(o.m.Fetch(fmt.Sprintf("1:%d", n), perfFetchParts))
	var msgs [][]byte
	for _, d := range res.Data {
		if d.IsLiteral() {
			msgs = append(msgs, d.Literal)
		}
	}
	return msgs, err
}

func (o perfOurs) recreate(box string) error {
	_, _ = o.m.Delete(box).Wait() // it may not exist
	return perfOK(o.m.Create(box))
}

// appendAll issues every Append, then waits for all: whether they
// pipeline is the library's business.
func (o perfOurs) appendAll(box string, msgs [][]byte) error {
	cmds := make([]*Command, len(msgs))
	for i, msg := range msgs {
		cmds[i] = o.m.Append(box, "", time.Time{}, msg)
	}
	for i, c := range cmds {
		if err := perfOK(c); err != nil {
			return fmt.Errorf("APPEND #%d: %w", i, err)
		}
	}
	return nil
}

func (o perfOurs) messages(box string) (int, error) {
	res, err := perfWait(o.m.Status(box, "(MESSAGES)"))
	if err != nil {
		return 0, err
	}
	st, err := res.MailboxStatus()
	return int(st.Messages), err
}

func (o perfOurs) remove(box string) error { return perfOK(o.m.Delete(box)) }

func (o perfOurs) close() { perfClose(o.m) }
