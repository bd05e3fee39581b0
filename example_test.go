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
