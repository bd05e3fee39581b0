package imaplib2_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/imaplib2go/imaplib2"
)

// Connect, upgrade to TLS and log in; every step waits for its result.
func Example() {
	m, err := imaplib2.New("imap.example.org", &imaplib2.Options{Timeout: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Logout()
	if _, err := m.StartTLS(nil).Wait(); err != nil {
		log.Fatal(err)
	}
	if _, err := m.Login("alice", os.Getenv("IMAP_PASSWORD")).Wait(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.State(), m.Capabilities())
}

// Select a mailbox and fetch one message.
func ExampleIMAP4_Fetch() {
	m, err := imaplib2.NewSSL("imap.example.org", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Logout()
	m.Login("alice", os.Getenv("IMAP_PASSWORD"))
	res, err := m.Select("INBOX", true).Wait() // waits for LOGIN too
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("messages:", res.Data[0].Text)
	res, err = m.Fetch("1", "(BODY.PEEK[])").Wait()
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range res.Data {
		if d.IsLiteral() {
			fmt.Printf("%s: %d bytes\n", d.Text, len(d.Literal))
		}
	}
}

// Fetch many messages in parallel; each result arrives at its callback.
func ExampleCommand_OnDone() {
	m, err := imaplib2.New("imap.example.org", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Logout()
	m.Login("alice", os.Getenv("IMAP_PASSWORD"))
	m.Select("INBOX", true)
	res, err := m.Search("", "ALL").Wait()
	if err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, num := range strings.Fields(res.Data[0].Text) {
		wg.Add(1)
		m.Fetch(num, "(RFC822.SIZE)").OnDone(func(r imaplib2.Result, err error) {
			defer wg.Done()
			if err != nil {
				log.Print(err)
				return
			}
			fmt.Println(r.Data[0].Text) // e.g. "1 (RFC822.SIZE 4213)"
		})
	}
	wg.Wait()
}

// Wait for new mail with IDLE, again and again.
func ExampleIMAP4_Idle() {
	m, err := imaplib2.NewSSL("imap.example.org", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Logout()
	m.Login("alice", os.Getenv("IMAP_PASSWORD"))
	m.Select("INBOX", false)
	for {
		if _, err := m.Idle(10 * time.Minute).Wait(); err != nil {
			log.Fatal(err) // the connection is gone: reconnect
		}
		if exists := m.Response("EXISTS").Data[0].Text; exists != "" {
			fmt.Println("messages now:", exists)
		}
	}
}

// Upgrade a plaintext connection with STARTTLS, trusting a private CA.
func ExampleIMAP4_StartTLS() {
	m, err := imaplib2.New("mail.internal", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Logout()
	config := &tls.Config{ServerName: "mail.internal"} // RootCAs: your CA pool
	if _, err := m.StartTLS(config).Wait(); err != nil {
		log.Fatal(err) // never goes on in plaintext
	}
}

// Compress the connection when the server offers it.
func ExampleIMAP4_EnableCompression() {
	m, err := imaplib2.NewSSL("imap.example.org", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Logout()
	m.Login("alice", os.Getenv("IMAP_PASSWORD")).Wait()
	for _, c := range m.Capabilities() {
		if c == "COMPRESS=DEFLATE" {
			if err := m.EnableCompression(); err != nil {
				log.Fatal(err)
			}
		}
	}
}

// Append a message; the server's APPENDUID code is kept for Response.
func ExampleIMAP4_Append() {
	m, err := imaplib2.NewSSL("imap.example.org", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Logout()
	m.Login("alice", os.Getenv("IMAP_PASSWORD"))
	msg := []byte("From: alice@example.org\r\nSubject: hi\r\n\r\nhello\r\n")
	res, err := m.Append("Drafts", `\Draft`, time.Now(), msg).Wait()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Type, m.Response("APPENDUID").Data[0].Text)
}

// Tell the error classes apart with errors.Is.
func ExampleErrAbort() {
	m, err := imaplib2.New("imap.example.org", nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = m.Select("INBOX", false).Wait()
	switch {
	case err == nil:
	case errors.Is(err, imaplib2.ErrReadonly):
		log.Print("opened read-only elsewhere; select again")
	case errors.Is(err, imaplib2.ErrAbort):
		log.Print("connection lost; reconnect: ", err)
	case errors.Is(err, imaplib2.ErrError):
		log.Print("refused: ", err) // e.g. a BAD, or the wrong state
	}
}

func ExampleTime2Internaldate() {
	t := time.Date(1996, time.July, 17, 2, 44, 25, 0, time.FixedZone("PDT", -7*3600))
	fmt.Println(imaplib2.Time2Internaldate(t))
	// Output: "17-Jul-1996 02:44:25 -0700"
}

func ExampleParseFlags() {
	fmt.Printf("%q\n", imaplib2.ParseFlags([]byte(`1 (UID 7 FLAGS (\Seen $Forwarded))`)))
	// Output: ["\\Seen" "$Forwarded"]
}

func ExampleInternaldate2Time() {
	t, err := imaplib2.Internaldate2Time([]byte(`1 (INTERNALDATE "17-Jul-1996 02:44:25 -0700")`))
	fmt.Println(t.UTC(), err)
	// Output: 1996-07-17 09:44:25 +0000 UTC <nil>
}

// Turn a FETCH result into typed messages. The Result here is what
// m.Fetch("1:2", "(UID FLAGS ENVELOPE)").Wait() returns from a server.
func ExampleResult_Messages() {
	res := imaplib2.Result{Type: "OK", Data: []imaplib2.Datum{
		{Text: `1 (UID 41 FLAGS (\Seen) ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "afternoon meeting" (("Fred Foobar" NIL "foobar" "Blurdybloop.example")) NIL NIL (("Joe Q. Public" NIL "joe" "example.org")) NIL NIL NIL "<B27397-0100000@Blurdybloop.example>"))`},
		{Text: `2 (UID 42 FLAGS () ENVELOPE (NIL "lunch?" ((NIL NIL "ann" "example.org")) NIL NIL NIL NIL NIL NIL NIL))`},
	}}
	msgs, err := res.Messages()
	if err != nil {
		log.Fatal(err)
	}
	for _, msg := range msgs {
		fmt.Printf("%d %q from %s, flags %v\n", msg.UID, msg.Envelope.Subject, msg.Envelope.From[0].Addr(), msg.Flags)
	}
	// Output:
	// 41 "afternoon meeting" from foobar@Blurdybloop.example, flags [\Seen]
	// 42 "lunch?" from ann@example.org, flags []
}

// List the parts of a message with the part specifiers to fetch them by,
// e.g. m.Fetch("1", "(BODY.PEEK[2])").
func ExampleBodyStructure_Walk() {
	res := imaplib2.Result{Type: "OK", Data: []imaplib2.Datum{{Text: `1 (BODYSTRUCTURE ((("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "7BIT" 120 4)("TEXT" "HTML" ("CHARSET" "UTF-8") NIL NIL "7BIT" 300 8) "ALTERNATIVE")("APPLICATION" "PDF" ("NAME" "report.pdf") NIL NIL "BASE64" 5000 NIL ("ATTACHMENT" ("FILENAME" "report.pdf")) NIL) "MIXED"))`}}}
	msgs, err := res.Messages()
	if err != nil {
		log.Fatal(err)
	}
	msgs[0].BodyStructure.Walk(func(path string, part *imaplib2.BodyStructure) bool {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-5q %s %s", path, part.MediaType, part.Filename())))
		return true
	})
	// Output:
	// ""    multipart/mixed
	// "1"   multipart/alternative
	// "1.1" text/plain
	// "1.2" text/html
	// "2"   application/pdf report.pdf
}

// Read the mailboxes of a LIST result. The Result here is what
// m.List(`""`, "*").Wait() returns from a server.
func ExampleResult_Mailboxes() {
	res := imaplib2.Result{Type: "OK", Data: []imaplib2.Datum{
		{Text: `(\HasNoChildren) "/" INBOX`},
		{Text: `(\HasNoChildren \Sent) "/" "Gesendete Objekte"`},
		{Text: `(\HasChildren \Noselect) "/" Entw&APw-rfe`},
	}}
	mailboxes, err := res.Mailboxes()
	if err != nil {
		log.Fatal(err)
	}
	for _, mb := range mailboxes {
		fmt.Printf("%s selectable=%v sent=%v\n", mb.Name, !mb.Has(`\Noselect`), mb.Has(`\Sent`))
	}
	// Output:
	// INBOX selectable=true sent=false
	// Gesendete Objekte selectable=true sent=true
	// Entwürfe selectable=false sent=false
}

// The loop of a sync tool: on reconnect, QRESYNC brings the local state up
// to date in one round trip (what vanished, what changed since the last
// HIGHESTMODSEQ); then IDLE, with Options.Unsolicited applying every flag
// change and expunge as it arrives.
func ExampleIMAP4_SelectWith() {
	type mailboxState struct {
		uidValidity uint32
		modSeq      uint64
		flags       map[uint32][]string // UID -> flags
	}
	local := &mailboxState{flags: map[uint32][]string{}} // loaded from disk in a real tool
	var mu sync.Mutex
	apply := func(res imaplib2.Result) {
		msgs, _ := res.Messages()
		vanished, _ := res.Vanished()
		mu.Lock()
		defer mu.Unlock()
		for _, msg := range msgs {
			if msg.UID != 0 && msg.Flags != nil {
				local.flags[msg.UID] = msg.Flags
			}
		}
		if uids, ok := vanished.Nums(); ok {
			for _, uid := range uids {
				delete(local.flags, uid)
			}
		}
	}
	m, err := imaplib2.NewSSL("imap.example.org", &imaplib2.Options{
		Timeout: time.Minute,
		Unsolicited: func(u imaplib2.Untagged) { // FETCH of flag changes, VANISHED of expunges
			if u.Type == "FETCH" || u.Type == "VANISHED" {
				apply(imaplib2.Result{Type: "OK", Data: u.Data})
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Logout()
	if _, err := m.Login("alice", os.Getenv("IMAP_PASSWORD")).Wait(); err != nil {
		log.Fatal(err)
	}
	if _, err := m.Enable("CONDSTORE QRESYNC").Wait(); err != nil {
		log.Fatal(err)
	}
	opts := imaplib2.SelectOptions{CondStore: true}
	if local.uidValidity != 0 {
		opts.QResync = &imaplib2.QResync{UIDValidity: local.uidValidity, ModSeq: local.modSeq}
	}
	res, err := m.SelectWith("INBOX", opts).Wait()
	if err != nil {
		log.Fatal(err)
	}
	sel, _ := m.Selected()
	if sel.UIDValidity != local.uidValidity { // first run, or the mailbox was recreated: fetch everything
		local.flags = map[uint32][]string{}
		if res, err = m.UID("FETCH", "1:*", "(FLAGS)").Wait(); err != nil {
			log.Fatal(err)
		}
	}
	apply(res)
	local.uidValidity, local.modSeq = sel.UIDValidity, sel.HighestModSeq
	for {
		if _, err := m.Idle(10 * time.Minute).Wait(); err != nil {
			log.Fatal(err) // ErrAbort: reconnect, and QRESYNC catches up
		}
		if sel, ok := m.Selected(); ok {
			local.modSeq = sel.HighestModSeq
		}
	}
}
