package imaplib2

// Modern IMAP against Dovecot 2.3: CONDSTORE and QRESYNC (RFC 7162), MOVE
// (RFC 6851) with UIDPLUS (RFC 4315), NOTIFY (RFC 5465), LIST-STATUS (RFC
// 5819) with SPECIAL-USE (RFC 6154), the selected mailbox as Selected
// reports it, APPEND pipelined under LITERAL+ (RFC 7888), and ESEARCH
// (RFC 4731) pipelined. Each subtest checks the typed results (Messages,
// Vanished, CopyUID, AppendUID, Mailboxes, MailboxStatus, Nums, ESearch)
// against what the server says when asked again another way.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// Helpers

// modernAppend appends one message to mailbox for each subject, all issued
// at once, and waits for them.
func modernAppend(t *testing.T, m *IMAP4, mailbox, flags string, subjects ...string) {
	t.Helper()
	cmds := make([]*Command, len(subjects))
	for i, s := range subjects {
		cmds[i] = m.Append(mailbox, flags, time.Time{}, dovecotMessage(s, "body of "+s))
	}
	for _, c := range cmds {
		waitOK(t, c)
	}
}

// subjects returns "prefix1" ... "prefixN".
func subjects(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return s
}

// nums returns the numbers of res (Nums), requiring well-formed data.
func nums(t *testing.T, res Result) []uint32 {
	t.Helper()
	n, err := res.Nums()
	require.NoError(t, err, "Nums of %v", texts(res.Data))
	return n
}

// setNums returns every number of set, which must not hold "*".
func setNums(t *testing.T, set NumSet) []uint32 {
	t.Helper()
	n, ok := set.Nums()
	require.True(t, ok, "set %q holds *", set.String())
	return n
}

// byUID returns the messages of res (Messages) by UID, requiring each to
// carry one.
func byUID(t *testing.T, res Result) map[uint32]Message {
	t.Helper()
	msgs, err := res.Messages()
	require.NoError(t, err, "Messages of %v", texts(res.Data))
	out := map[uint32]Message{}
	for _, msg := range msgs {
		require.NotZero(t, msg.UID, "message %d without UID", msg.SeqNum)
		require.NotContains(t, out, msg.UID, "UID %d twice", msg.UID)
		out[msg.UID] = msg
	}
	return out
}

// subjectsByUID fetches the Subject of every message of the selected
// mailbox and returns them by UID.
func subjectsByUID(t *testing.T, m *IMAP4) map[uint32]string {
	t.Helper()
	out := map[uint32]string{}
	for uid, msg := range byUID(t, waitOK(t, m.UID("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))) {
		subject := strings.TrimSpace(string(msg.Body("BODY[HEADER.FIELDS (SUBJECT)]")))
		out[uid] = strings.TrimPrefix(subject, "Subject: ")
	}
	return out
}

// wireLog is a debug log (Debug 4: every line on the wire) that the test
// reads while the connection writes it.
type wireLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *wireLog) options() *Options {
	return &Options{Debug: debugWire, DebugWriter: lockedWriter{&l.mu, &l.buf}}
}

// sent returns the command lines the client sent, without tags.
func (l *wireLog) sent() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lines []string
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if _, cmd, ok := strings.Cut(line, "writer > "); ok {
			_, cmd, _ = strings.Cut(cmd, " ")
			lines = append(lines, cmd)
		}
	}
	return lines
}

// ---------------------------------------------------------------------------
// CONDSTORE and QRESYNC

// dovecotTestResync: a client remembers UIDVALIDITY and HIGHESTMODSEQ,
// another one changes flags and expunges, and the first comes back with
// SELECT (QRESYNC ...), which reports exactly the expunged UIDs (VANISHED
// (EARLIER)) and the changed messages; UID FETCH (CHANGEDSINCE) agrees, and
// with VANISHED reports the expunged UIDs too. QRESYNC SELECT before ENABLE
// QRESYNC is refused unsent; again while selected, and with known UIDs, it
// reports what changed since the state given; a later expunge arrives as
// an unsolicited VANISHED that Selected counts.
func dovecotTestResync(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	var wire wireLog
	a := dovecotNew(t, d, wire.options())
	waitOK(t, a.Login(user, pass))
	modernAppend(t, a, "INBOX", "", subjects("m", 8)...)

	res := waitOK(t, a.Enable("CONDSTORE QRESYNC"))
	assert.Contains(t, res.Data[0].Text, "Enabled")
	assert.Equal(t, []string{"CONDSTORE QRESYNC"}, texts(a.Response("ENABLED").Data), "the server confirms both")
	assert.Contains(t, wire.sent(), "ENABLE CONDSTORE QRESYNC", "each extension an atom: %q", wire.sent())
	waitOK(t, a.Select("INBOX", false))
	old, ok := a.Selected()
	require.True(t, ok)
	require.NotZero(t, old.UIDValidity)
	require.NotZero(t, old.HighestModSeq, "QRESYNC is on: SELECT reports HIGHESTMODSEQ")
	require.EqualValues(t, 8, old.Exists)
	dovecotLogout(t, a)

	// Another client flags 2, 3, 4 and 7, then expunges 3 and 5.
	b := dovecotNew(t, d, nil)
	waitOK(t, b.Login(user, pass))
	waitOK(t, b.Select("INBOX", false))
	waitOK(t, b.UID("STORE", "2:4,7", "+FLAGS", `\Flagged`))
	waitOK(t, b.UID("STORE", "3,5", "+FLAGS.SILENT", `\Deleted`))
	res = waitOK(t, b.UID("EXPUNGE", "3,5"))
	assert.Equal(t, []uint32{3, 5}, expunged(t, []uint32{1, 2, 3, 4, 5, 6, 7, 8}, res), "UID EXPUNGE's EXPUNGE numbers")
	dovecotLogout(t, b)
	changed, vanished := []uint32{2, 4, 7}, []uint32{3, 5}

	// The first client comes back. QRESYNC before Enable: refused, unsent.
	var wire2 wireLog
	c := dovecotNew(t, d, wire2.options())
	waitOK(t, c.Login(user, pass))
	resync := SelectOptions{QResync: &QResync{UIDValidity: old.UIDValidity, ModSeq: old.HighestModSeq}}
	early := c.SelectWith("INBOX", resync)
	err := waitFails(t, early)
	assert.Contains(t, err.Error(), "QRESYNC is not enabled")
	assert.Empty(t, early.Tag(), "nothing was sent")
	assert.NotContains(t, strings.Join(wire2.sent(), "\n"), "SELECT")
	assert.Equal(t, AUTH, c.State())
	waitOK(t, c.Noop())

	waitOK(t, c.Enable("QRESYNC"))
	res = waitOK(t, c.SelectWith("INBOX", resync))
	gone, err := res.Vanished()
	require.NoError(t, err)
	assert.Equal(t, vanished, setNums(t, gone), "VANISHED (EARLIER): exactly the expunged UIDs")
	msgs := byUID(t, res)
	assert.ElementsMatch(t, changed, keys(msgs), "FETCH: exactly the changed messages")
	for uid, msg := range msgs {
		assert.Greater(t, msg.ModSeq, old.HighestModSeq, "UID %d: MODSEQ", uid)
		assert.Equal(t, []string{`\Flagged`}, withoutRecent(msg.Flags), "UID %d", uid)
	}
	now, ok := c.Selected()
	require.True(t, ok)
	assert.EqualValues(t, 6, now.Exists, "VANISHED (EARLIER) does not count against EXISTS")
	assert.Equal(t, old.UIDValidity, now.UIDValidity)
	assert.Greater(t, now.HighestModSeq, old.HighestModSeq)

	// CONDSTORE: the same changes, with and without VANISHED.
	since := fmt.Sprintf("(FLAGS) (CHANGEDSINCE %d)", old.HighestModSeq)
	res = waitOK(t, c.UID("FETCH", "1:*", since))
	assert.Equal(t, msgs, byUID(t, res), "UID FETCH (CHANGEDSINCE)")
	gone, err = res.Vanished()
	require.NoError(t, err)
	assert.Empty(t, gone, "no VANISHED without asking for it")

	res = waitOK(t, c.UID("FETCH", "1:*", fmt.Sprintf("(FLAGS) (CHANGEDSINCE %d VANISHED)", old.HighestModSeq)))
	assert.Equal(t, msgs, byUID(t, res), "UID FETCH (CHANGEDSINCE VANISHED)")
	gone, err = res.Vanished()
	require.NoError(t, err)
	assert.Equal(t, vanished, setNums(t, gone), "UID FETCH (CHANGEDSINCE VANISHED)")

	res = waitOK(t, c.Fetch("1:*", fmt.Sprintf("(UID FLAGS) (CHANGEDSINCE %d)", old.HighestModSeq)))
	seqs := map[uint32]uint32{}
	fetched, err := res.Messages()
	require.NoError(t, err)
	for _, msg := range fetched {
		seqs[msg.UID] = msg.SeqNum
	}
	assert.Equal(t, map[uint32]uint32{2: 2, 4: 3, 7: 5}, seqs, "FETCH (CHANGEDSINCE): UID -> message number")

	// Again, with the mailbox selected (the server closes it first, with
	// [CLOSED]): from the state just learned, nothing changed; from the old
	// one with the UIDs the client knew, the same as before.
	res = waitOK(t, c.SelectWith("INBOX", SelectOptions{QResync: &QResync{UIDValidity: now.UIDValidity, ModSeq: now.HighestModSeq}}))
	gone, err = res.Vanished()
	require.NoError(t, err)
	assert.Empty(t, gone, "nothing vanished since")
	assert.Empty(t, byUID(t, res), "nothing changed since")
	again, _ := c.Selected()
	assert.Equal(t, now, again, "Selected after the second QRESYNC SELECT")
	known := *resync.QResync
	known.KnownUIDs = NumSetOf(1, 2, 3, 4, 5, 6, 7, 8)
	res = waitOK(t, c.SelectWith("INBOX", SelectOptions{QResync: &known}))
	gone, err = res.Vanished()
	require.NoError(t, err)
	assert.Equal(t, vanished, setNums(t, gone), "QRESYNC with known UIDs %s", known.KnownUIDs)
	assert.Equal(t, msgs, byUID(t, res), "QRESYNC with known UIDs")
	again, _ = c.Selected()
	assert.Equal(t, now, again, "Selected after the third QRESYNC SELECT")

	// An expunge elsewhere reaches a QRESYNC client as VANISHED, which
	// no command collects and which counts against EXISTS.
	e := dovecotNew(t, d, nil)
	waitOK(t, e.Login(user, pass))
	waitOK(t, e.Select("INBOX", false))
	waitOK(t, e.UID("STORE", "8", "+FLAGS.SILENT", `\Deleted`))
	waitOK(t, e.UID("EXPUNGE", "8"))
	dovecotLogout(t, e)
	waitOK(t, c.Noop())
	assert.Equal(t, []string{"8"}, texts(c.Response("VANISHED").Data))
	again, _ = c.Selected()
	assert.EqualValues(t, 5, again.Exists, "after VANISHED 8")
	dovecotLogout(t, c)
}

// expunged applies the EXPUNGE numbers of res (Nums), in order, to the
// mailbox whose messages had the UIDs uids, and returns the UIDs removed,
// sorted.
func expunged(t *testing.T, uids []uint32, res Result) []uint32 {
	t.Helper()
	left := slices.Clone(uids)
	var removed []uint32
	for _, n := range nums(t, res) {
		require.True(t, n >= 1 && int(n) <= len(left), "EXPUNGE %d of %d messages: %v", n, len(left), texts(res.Data))
		removed = append(removed, left[n-1])
		left = slices.Delete(left, int(n-1), int(n))
	}
	slices.Sort(removed)
	return removed
}

// keys returns the keys of a map, in no order.
func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// ---------------------------------------------------------------------------
// MOVE

// dovecotTestMoveCopyUID: MOVE and UID MOVE give the COPYUID of the target
// (which UID SEARCH and the moved messages' subjects confirm) and the
// EXPUNGE numbers of the source, whose count and SEARCH follow; under
// QRESYNC, a MOVE collects VANISHED instead.
func dovecotTestMoveCopyUID(t *testing.T, d *dovecotServer) {
	m, user, pass := dovecotLogin(t, d)
	modernAppend(t, m, "INBOX", "", subjects("m", 6)...)
	waitOK(t, m.Create("Target"))
	waitOK(t, m.Select("INBOX", false))

	moved := waitOK(t, m.Move("2:3", "Target"))
	validity, src, dst, ok := moved.CopyUID()
	require.True(t, ok, "MOVE keeps the COPYUID of its untagged OK: %q %v", moved.Text, texts(moved.Data))
	assert.Equal(t, []uint32{2, 3}, setNums(t, src))
	assert.Equal(t, []uint32{2, 3}, expunged(t, []uint32{1, 2, 3, 4, 5, 6}, moved), "MOVE's EXPUNGE numbers")

	uidMoved := waitOK(t, m.UID("MOVE", "5:6", "Target"))
	validity2, src2, dst2, ok := uidMoved.CopyUID()
	require.True(t, ok, "UID MOVE: %q %v", uidMoved.Text, texts(uidMoved.Data))
	assert.Equal(t, validity, validity2)
	assert.Equal(t, []uint32{5, 6}, setNums(t, src2))
	assert.Equal(t, []uint32{5, 6}, expunged(t, []uint32{1, 4, 5, 6}, uidMoved), "UID MOVE's EXPUNGE numbers")

	sel, ok := m.Selected()
	require.True(t, ok)
	assert.EqualValues(t, 2, sel.Exists, "the source lost four messages")
	assert.Equal(t, []uint32{1, 2}, nums(t, waitOK(t, m.Search("", "ALL"))))
	assert.Equal(t, []uint32{1, 4}, nums(t, waitOK(t, m.UID("SEARCH", "ALL"))))
	st, err := waitOK(t, m.Status("Target", "(UIDVALIDITY MESSAGES)")).MailboxStatus()
	require.NoError(t, err)
	assert.Equal(t, validity, st.UIDValidity, "COPYUID names the target's UIDVALIDITY")
	assert.EqualValues(t, 4, st.Messages)

	waitOK(t, m.Select("Target", false))
	targetUIDs := append(setNums(t, dst), setNums(t, dst2)...)
	assert.Equal(t, targetUIDs, nums(t, waitOK(t, m.UID("SEARCH", "ALL"))), "COPYUID's destination UIDs are the target's")
	inTarget := subjectsByUID(t, m)
	for i, from := range append(setNums(t, src), setNums(t, src2)...) {
		assert.Equal(t, fmt.Sprintf("m%d", from), inTarget[targetUIDs[i]], "source UID %d went to UID %d", from, targetUIDs[i])
	}
	dovecotLogout(t, m)

	// Under QRESYNC the server reports the moved UIDs with VANISHED.
	q := dovecotNew(t, d, nil)
	waitOK(t, q.Login(user, pass))
	waitOK(t, q.Enable("QRESYNC"))
	waitOK(t, q.Select("Target", false))
	back := targetUIDs[0]
	res := waitOK(t, q.UID("MOVE", fmt.Sprint(back), "INBOX"))
	gone, err := res.Vanished()
	require.NoError(t, err)
	assert.Equal(t, []uint32{back}, setNums(t, gone), "VANISHED %v", texts(res.Data))
	_, src, _, ok = res.CopyUID()
	require.True(t, ok, "%q", res.Text)
	assert.Equal(t, []uint32{back}, setNums(t, src))
	sel, _ = q.Selected()
	assert.EqualValues(t, 3, sel.Exists, "VANISHED counts against EXISTS")
	dovecotLogout(t, q)
}

// ---------------------------------------------------------------------------
// NOTIFY

// dovecotTestNotify: after NOTIFY SET, what another connection does to a
// mailbox this one has not selected arrives as an unsolicited STATUS
// (MessageNew, MessageExpunge), and a message appended to the selected
// mailbox as EXISTS.
//
// What Dovecot 2.3 needs to deliver them, found here: the STATUS of a
// mailbox that is not selected comes by itself, about half a second after
// the change, while no command is in progress (RFC 5465 lets the server
// send events at any time); the EXISTS of the selected mailbox does not
// (a wait of 15 s saw nothing): Dovecot reports the selected mailbox's
// changes only as it always does, at the end of a command such as NOOP or
// during IDLE. So the test waits for the STATUS without sending anything,
// and for the EXISTS in IDLE.
func dovecotTestNotify(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	events := make(chan Untagged, 1000)
	a := dovecotNew(t, d, &Options{Unsolicited: func(u Untagged) {
		select {
		case events <- u:
		default:
			t.Errorf("more than %d unsolicited responses", cap(events))
		}
	}})
	waitOK(t, a.Login(user, pass))
	waitOK(t, a.Create("notified"))
	waitOK(t, a.Select("INBOX", false))
	res := waitOK(t, a.Notify("SET (SELECTED (MessageNew MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge))"))
	assert.Contains(t, res.Data[0].Text, "NOTIFY completed")

	b := dovecotNew(t, d, nil)
	waitOK(t, b.Login(user, pass))
	status := func(what string, messages uint32) {
		t.Helper()
		u := awaitUnsolicited(t, events, what, func(u Untagged) bool { return u.Type == "STATUS" })
		st, err := Result{Type: "OK", Data: u.Data}.MailboxStatus()
		require.NoError(t, err, "%v", texts(u.Data))
		assert.Equal(t, "notified", st.Mailbox, "%s: %v", what, texts(u.Data))
		assert.Equal(t, messages, st.Messages, "%s: %v", what, texts(u.Data))
	}
	waitOK(t, b.Append("notified", "", time.Time{}, dovecotMessage("elsewhere", "x")))
	status("STATUS after MessageNew in a mailbox that is not selected", 1)
	waitOK(t, b.Select("notified", false))
	waitOK(t, b.Store("1", "+FLAGS.SILENT", `\Deleted`))
	waitOK(t, b.Expunge())
	status("STATUS after MessageExpunge in a mailbox that is not selected", 0)
	assert.Equal(t, SELECTED, a.State())
	assert.Equal(t, "INBOX", func() string { sel, _ := a.Selected(); return sel.Name }())

	idle := a.Idle(30 * time.Second)
	waitIdling(t, a, idle)
	waitOK(t, b.Append("INBOX", "", time.Time{}, dovecotMessage("here", "x")))
	u := awaitUnsolicited(t, events, "EXISTS for the selected mailbox", func(u Untagged) bool { return u.Type == "EXISTS" })
	assert.Equal(t, []string{"1"}, texts(u.Data))
	waitOK(t, idle)
	sel, _ := a.Selected()
	assert.EqualValues(t, 1, sel.Exists, "Selected follows the unsolicited EXISTS")

	waitOK(t, a.Notify("NONE"))
	dovecotLogout(t, b)
	dovecotLogout(t, a)
}

// awaitUnsolicited receives from events, at most waitLimit in all, until
// an untagged response that want accepts arrives, and returns it.
func awaitUnsolicited(t *testing.T, events <-chan Untagged, what string, want func(Untagged) bool) Untagged {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	var seen []string
	for {
		select {
		case u := <-events:
			if want(u) {
				return u
			}
			seen = append(seen, u.Type+" "+strings.Join(texts(u.Data), " "))
		case <-deadline.C:
			t.Fatalf("gave up after %v waiting for %s; unsolicited meanwhile: %q", waitLimit, what, seen)
		}
	}
}

// ---------------------------------------------------------------------------
// LIST-STATUS and SPECIAL-USE

// dovecotTestListStatus: LIST RETURN (SPECIAL-USE STATUS (...)) gives each
// mailbox its special-use attributes (dovecot.conf gives Sent, Trash,
// Drafts and Junk theirs) and a status equal to what STATUS says alone;
// LIST (SPECIAL-USE) lists those four only.
func dovecotTestListStatus(t *testing.T, d *dovecotServer) {
	m, _, _ := dovecotLogin(t, d)
	special := map[string]string{"Sent": `\Sent`, "Trash": `\Trash`, "Drafts": `\Drafts`, "Junk": `\Junk`}
	all := []string{"INBOX", "Sent", "Trash", "Drafts", "Junk", "Archive", "Entwürfe"}
	for _, name := range all[1:] {
		waitOK(t, m.Create(name))
	}
	modernAppend(t, m, "Sent", `\Seen`, "s1", "s2")
	modernAppend(t, m, "Sent", "", "s3")
	modernAppend(t, m, "Trash", "", "t1", "t2")
	modernAppend(t, m, "Entwürfe", "", "e1")
	modernAppend(t, m, "INBOX", `\Seen`, "i1")
	assert.Contains(t, m.Capabilities(), "SPECIAL-USE")

	// Each mailbox's STATUS, pipelined, and waited for before the LIST: a
	// STATUS response names a mailbox, not a command, so one that LIST-STATUS
	// sends while a STATUS command for the same mailbox is pending could be
	// either's.
	statusCmds := map[string]*Command{}
	for _, name := range all {
		statusCmds[name] = m.Status(name, "(MESSAGES UNSEEN UIDNEXT)")
	}
	alone := map[string]MailboxStatus{}
	for name, c := range statusCmds {
		st, err := waitOK(t, c).MailboxStatus()
		require.NoError(t, err, name)
		alone[name] = st
	}
	res := waitOK(t, m.ListWith(`""`, "*", ListOptions{ReturnSpecialUse: true, ReturnStatus: []string{"MESSAGES", "UNSEEN", "UIDNEXT"}}))
	boxes, err := res.Mailboxes()
	require.NoError(t, err, "%v", texts(res.Data))
	var names []string
	for _, mb := range boxes {
		names = append(names, mb.Name)
		assert.Equal(t, "/", mb.Delimiter, mb.Name)
		for box, attr := range special {
			assert.Equal(t, box == mb.Name, mb.Has(attr), "%s: %s in %q", mb.Name, attr, mb.Attributes)
		}
		if assert.NotNil(t, mb.Status, "%s: LIST-STATUS", mb.Name) {
			assert.Equal(t, alone[mb.Name], *mb.Status, "%s: LIST-STATUS and STATUS", mb.Name)
		}
	}
	assert.ElementsMatch(t, all, names)
	sent := slices.IndexFunc(boxes, func(mb MailboxInfo) bool { return mb.Name == "Sent" })
	require.GreaterOrEqual(t, sent, 0)
	assert.Equal(t, MailboxStatus{Mailbox: "Sent", Messages: 3, Unseen: 1, UIDNext: 4}, *boxes[sent].Status)

	for _, opts := range []ListOptions{{SelectSpecialUse: true}, {SelectSpecialUse: true, ReturnStatus: []string{"MESSAGES"}}} {
		res = waitOK(t, m.ListWith(`""`, "*", opts))
		boxes, err = res.Mailboxes()
		require.NoError(t, err, "%v", texts(res.Data))
		names = nil
		for _, mb := range boxes {
			names = append(names, mb.Name)
			assert.True(t, mb.Has(special[mb.Name]), "%s: %q", mb.Name, mb.Attributes)
			assert.Equal(t, opts.ReturnStatus != nil, mb.Status != nil, "%s: status", mb.Name)
		}
		assert.ElementsMatch(t, keys(special), names, "LIST (SPECIAL-USE) %+v", opts)
	}
	dovecotLogout(t, m)
}

// ---------------------------------------------------------------------------
// The selected mailbox

// dovecotTestSelected: Selected after SELECT (CONDSTORE) and EXAMINE, and
// as EXISTS and EXPUNGE arrive: after a NOOP, after EXPUNGE, at the end of
// an IDLE woken by another connection's APPEND; UNSELECT ends it.
func dovecotTestSelected(t *testing.T, d *dovecotServer) {
	a, user, pass := dovecotLogin(t, d)
	_, ok := a.Selected()
	assert.False(t, ok, "nothing selected yet")
	modernAppend(t, a, "INBOX", "", subjects("m", 3)...)
	modernAppend(t, a, "INBOX", `\Seen`, "m4")
	st, err := waitOK(t, a.Status("INBOX", "(UIDVALIDITY UIDNEXT)")).MailboxStatus()
	require.NoError(t, err)

	waitOK(t, a.SelectWith("INBOX", SelectOptions{CondStore: true}))
	sel, ok := a.Selected()
	require.True(t, ok)
	assert.Equal(t, "INBOX", sel.Name)
	assert.False(t, sel.ReadOnly)
	assert.EqualValues(t, 4, sel.Exists)
	assert.EqualValues(t, 4, sel.Recent, "the first session to see them")
	assert.Equal(t, st.UIDValidity, sel.UIDValidity)
	assert.EqualValues(t, 5, sel.UIDNext)
	assert.Equal(t, st.UIDNext, sel.UIDNext)
	assert.EqualValues(t, 1, sel.Unseen, "[UNSEEN 1]: the first unseen message")
	assert.Equal(t, []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}, sel.Flags)
	assert.Subset(t, sel.PermanentFlags, []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`, `\*`})
	assert.NotZero(t, sel.HighestModSeq, "SELECT (CONDSTORE) reports HIGHESTMODSEQ")

	b := dovecotNew(t, d, nil)
	waitOK(t, b.Login(user, pass))
	waitOK(t, b.Append("INBOX", "", time.Time{}, dovecotMessage("m5", "x")))
	waitOK(t, a.Noop())
	sel, _ = a.Selected()
	assert.EqualValues(t, 5, sel.Exists, "the NOOP brought EXISTS")

	waitOK(t, a.Store("1", "+FLAGS.SILENT", `\Deleted`))
	assert.Equal(t, []uint32{1}, nums(t, waitOK(t, a.Expunge())))
	sel, _ = a.Selected()
	assert.EqualValues(t, 4, sel.Exists, "EXPUNGE lowers it")

	idle := a.Idle(30 * time.Second)
	waitIdling(t, a, idle)
	require.False(t, isDone(idle.Done()), "IDLE ended before anything happened")
	waitOK(t, b.Append("INBOX", "", time.Time{}, dovecotMessage("m6", "x")))
	res := waitOK(t, idle)
	assert.Contains(t, res.Data[0].Text, "Idle completed")
	assert.Equal(t, []Datum{{}}, a.Response("IDLE").Data, "woken, not timed out")
	sel, _ = a.Selected()
	assert.EqualValues(t, 5, sel.Exists, "the EXISTS that ended the IDLE")

	waitOK(t, a.Unselect())
	assert.Equal(t, AUTH, a.State())
	_, ok = a.Selected()
	assert.False(t, ok, "UNSELECT: nothing selected")

	waitOK(t, a.Examine("INBOX"))
	sel, ok = a.Selected()
	require.True(t, ok)
	assert.True(t, sel.ReadOnly, "EXAMINE")
	assert.EqualValues(t, 5, sel.Exists)
	assert.NotZero(t, sel.HighestModSeq, "SELECT (CONDSTORE) enabled CONDSTORE for the session")
	dovecotLogout(t, b)
	dovecotLogout(t, a)
}

// ---------------------------------------------------------------------------
// Pipelined APPEND

// appendRecorder is a connection that counts the APPEND commands the
// client writes and notes how many had gone out when the client read the
// first tagged OK of an APPEND. A write is counted before it goes out, a
// read once it came in.
//
// Once armed with a count, it holds back what the server sends until the
// client has written that many APPENDs (for at most appendGateLimit). How
// soon Dovecot answers the first APPEND while the client is still writing
// the others is a race that the test must not depend on: without the hold,
// in 21 runs of 500 APPENDs under the race detector the 500th went out 2
// to 38 ms after they were issued and the first OK came in after 23 ms to
// 1.4 s, once before the 500th. With it, the test proves what the client
// does: a client that waited for an APPEND's OK before writing the next
// one would stall until the limit and fail.
type appendRecorder struct {
	net.Conn
	mu                 sync.Mutex
	want               int           // armed: APPENDs to write before the client reads anything
	gate               chan struct{} // closed once want APPENDs were written
	written, atFirstOK int
	sawOK, stalled     bool
	released           bool   // gate is closed
	wtail, rtail       []byte // the end of the last write and read, for a pattern split between two
}

// appendGateLimit bounds how long appendRecorder holds back the server's
// responses.
const appendGateLimit = 20 * time.Second

var (
	appendSent = []byte(" APPEND ")
	appendOK   = []byte(" OK [APPENDUID ")
)

// arm starts counting and holding back: see appendRecorder.
func (r *appendRecorder) arm(want int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.want, r.gate = want, make(chan struct{})
}

func (r *appendRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	if r.gate != nil {
		before := r.written
		r.written += countAcross(&r.wtail, p, appendSent)
		if before < r.want && r.written >= r.want {
			r.releaseLocked()
		}
	}
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func (r *appendRecorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	gate := r.gate
	r.mu.Unlock()
	if gate == nil {
		return n, err
	}
	_, open := within(gate, appendGateLimit)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !open && !r.released {
		r.stalled = true
		r.releaseLocked()
	}
	if !r.sawOK && countAcross(&r.rtail, p[:n], appendOK) > 0 {
		r.sawOK, r.atFirstOK = true, r.written
	}
	return n, err
}

// releaseLocked stops holding back. The caller holds r.mu.
func (r *appendRecorder) releaseLocked() {
	if !r.released {
		r.released = true
		close(r.gate)
	}
}

// countAcross counts pattern in what *tail held and p, and keeps the end
// of p in *tail.
func countAcross(tail *[]byte, p, pattern []byte) int {
	joined := append(slices.Clone(*tail), p...)
	keep := min(len(joined), len(pattern)-1)
	*tail = slices.Clone(joined[len(joined)-keep:])
	return bytes.Count(joined, pattern)
}

// dovecotTestPipelinedAppend: 500 small APPENDs issued at once all go on
// the wire before the client reads the first tagged OK (LITERAL+: nothing
// to wait for), all land, and each result's APPENDUID names its own
// message.
func dovecotTestPipelinedAppend(t *testing.T, d *dovecotServer) {
	const n = 500
	user, pass := d.newUser(t)
	var rec *appendRecorder
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			rec = &appendRecorder{Conn: c}
			return rec, nil
		}
		return c, err
	}
	m := dovecotNew(t, d, &Options{DialContext: dial})
	waitOK(t, m.Login(user, pass))
	require.Contains(t, m.Capabilities(), "LITERAL+")
	rec.arm(n)

	cmds := make([]*Command, n)
	for i := range cmds {
		cmds[i] = m.Append("INBOX", "", time.Time{}, dovecotMessage(fmt.Sprintf("p%03d", i), "x"))
	}
	results := make([]Result, n)
	for i, c := range cmds {
		results[i] = waitOK(t, c)
	}
	rec.mu.Lock()
	written, atFirstOK, stalled := rec.written, rec.atFirstOK, rec.stalled
	rec.mu.Unlock()
	assert.Equal(t, n, written, "APPEND commands written")
	assert.False(t, stalled, "the client stopped writing APPENDs before it had read an answer")
	assert.Equal(t, n, atFirstOK, "APPEND commands on the wire when the client read the first tagged OK")

	st, err := waitOK(t, m.Status("INBOX", "(MESSAGES UIDVALIDITY)")).MailboxStatus()
	require.NoError(t, err)
	assert.EqualValues(t, n, st.Messages, "all landed")
	waitOK(t, m.Select("INBOX", true))
	subject := subjectsByUID(t, m)
	var uids []uint32
	for i, res := range results {
		validity, set, ok := res.AppendUID()
		if !assert.True(t, ok, "APPEND %d: %q", i, res.Text) {
			continue
		}
		assert.Equal(t, st.UIDValidity, validity, "APPEND %d", i)
		got := setNums(t, set)
		if assert.Len(t, got, 1, "APPEND %d", i) {
			uids = append(uids, got[0])
			assert.Equal(t, fmt.Sprintf("p%03d", i), subject[got[0]], "APPEND %d: the message its APPENDUID names", i)
		}
	}
	slices.Sort(uids)
	assert.Equal(t, nums(t, waitOK(t, m.UID("SEARCH", "ALL"))), slices.Compact(uids), "distinct, and what UID SEARCH ALL finds")
	assert.Len(t, uids, n)
	dovecotLogout(t, m)
}

// ---------------------------------------------------------------------------
// ESEARCH

// dovecotTestESearchPipelined: 50 SEARCH RETURN (ALL), 50 SEARCH RETURN
// (MIN MAX COUNT) and 50 UID SEARCH RETURN (ALL), each of its own
// criteria, all in flight at once, each get what the same search run alone
// gets: ESEARCH responses name their command's tag, and none may be
// misrouted.
func dovecotTestESearchPipelined(t *testing.T, d *dovecotServer) {
	m, _, _ := dovecotLogin(t, d)
	cmds := make([]*Command, 30)
	for i := range cmds {
		var flags []string
		if i%3 == 0 {
			flags = append(flags, `\Seen`)
		}
		if i%4 == 0 {
			flags = append(flags, `\Flagged`)
		}
		body := strings.Repeat(fmt.Sprintf("word%d ", i%5), 10*i)
		cmds[i] = m.Append("INBOX", strings.Join(flags, " "), time.Time{}, dovecotMessage(fmt.Sprintf("s%d", i+1), body))
	}
	for _, c := range cmds {
		waitOK(t, c)
	}
	waitOK(t, m.Select("INBOX", false))
	waitOK(t, m.Store("1,7,8", "+FLAGS.SILENT", `\Deleted`))
	waitOK(t, m.Expunge()) // message numbers and UIDs now differ

	criteria := [][]string{{"ALL"}, {"SEEN"}, {"UNSEEN"}, {"FLAGGED"}, {"UNFLAGGED"}, {"OR", "SEEN", "FLAGGED"},
		{"NOT", "SEEN"}, {"SUBJECT", "nothing-matches"}, {"BODY", "word3"}, {"NOT", "BODY", "word1"}}
	for i := 1; len(criteria) < 50; i++ {
		switch i % 4 {
		case 0:
			criteria = append(criteria, []string{"SUBJECT", fmt.Sprintf("s%d", i/2)})
		case 1:
			criteria = append(criteria, []string{fmt.Sprintf("%d:%d", i/2+1, i/2+i%7+1)})
		case 2:
			criteria = append(criteria, []string{"UID", fmt.Sprintf("%d:%d", i/2, i/2+5), "UNSEEN"})
		case 3:
			criteria = append(criteria, []string{"LARGER", fmt.Sprint(100 + 40*i)})
		}
	}
	require.Len(t, criteria, 50)

	// Each alone, one after the other: the truth.
	seqs, uids := make([][]uint32, len(criteria)), make([][]uint32, len(criteria))
	for i, crit := range criteria {
		seqs[i] = nums(t, waitOK(t, m.Search("", crit...)))
		uids[i] = nums(t, waitOK(t, m.UID("SEARCH", crit...)))
	}

	// All at once.
	all, minMax, uidAll := make([]*Command, len(criteria)), make([]*Command, len(criteria)), make([]*Command, len(criteria))
	for i, crit := range criteria {
		all[i] = m.Search("", append([]string{"RETURN", "(ALL)"}, crit...)...)
		minMax[i] = m.Search("", append([]string{"RETURN", "(MIN MAX COUNT)"}, crit...)...)
		uidAll[i] = m.UID("SEARCH", append([]string{"RETURN", "(ALL)"}, crit...)...)
	}
	wrong := 0
	for i, crit := range criteria {
		e := esearch(t, all[i])
		u := esearch(t, uidAll[i])
		mm := esearch(t, minMax[i])
		want := ESearchData{Count: uint32(len(seqs[i]))}
		if len(seqs[i]) > 0 {
			want.Min, want.Max = seqs[i][0], seqs[i][len(seqs[i])-1]
		}
		ok := assert.False(t, e.UID, "%q", crit) && assert.True(t, u.UID, "%q", crit) &&
			assert.Equal(t, seqs[i], orNil(setNums(t, e.All)), "SEARCH RETURN (ALL) %q", crit) &&
			assert.Equal(t, uids[i], orNil(setNums(t, u.All)), "UID SEARCH RETURN (ALL) %q", crit) &&
			assert.Equal(t, want, mm, "SEARCH RETURN (MIN MAX COUNT) %q", crit)
		if !ok {
			wrong++
		}
	}
	assert.Zero(t, wrong, "criteria whose pipelined ESEARCH results differ from the search run alone, of %d", len(criteria))
	dovecotLogout(t, m)
}

// esearch waits for c and returns its ESEARCH data.
func esearch(t *testing.T, c *Command) ESearchData {
	t.Helper()
	res := waitOK(t, c)
	e, err := res.ESearch()
	require.NoError(t, err, "%v", texts(res.Data))
	return e
}

// orNil returns nil for an empty slice, as Nums gives for no match.
func orNil(n []uint32) []uint32 {
	if len(n) == 0 {
		return nil
	}
	return n
}
