package imaplib2

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds the command methods, one per IMAP command, named after
// imaplib2's. Each returns at once; see Command for reading the outcome.
// String arguments are quoted by imaplib2's rules (see the README); message
// sets that are valid sequence sets ("1:*", "2,4:7") are sent as they are.

// Append appends message to mailbox ("" means INBOX) with the given flags
// ("" for none; parentheses are added when missing) and internal date (the
// zero time for none). Line endings in message are normalised to CRLF.
func (m *IMAP4) Append(mailbox, flags string, date time.Time, message []byte) *Command {
	if mailbox == "" {
		mailbox = "INBOX"
	}
	c := m.newCommand(cmdAppend).mailbox(mailbox)
	if flags != "" {
		c.add(parenthesized(flags))
	}
	if !date.IsZero() {
		c.add(arg{text: Time2Internaldate(date)}, nil)
	}
	return c.add(m.quoter().message(normalizeCRLF(message)), nil).issue() // normalizeCRLF copies: the caller may reuse message
}

// normalizeCRLF turns every CR, LF and CRLF of msg into CRLF, as imaplib2
// does before it counts the literal. It copies whole lines at a time.
func normalizeCRLF(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+len(msg)/64)
	for len(msg) > 0 {
		line, rest, ended := bytes.Cut(msg, []byte{'\n'})
		if ended {
			line = bytes.TrimSuffix(line, []byte{'\r'}) // the CR of this line's CRLF
		}
		for {
			cr := bytes.IndexByte(line, '\r') // a bare CR ends a line too
			if cr < 0 {
				break
			}
			out = append(append(out, line[:cr]...), '\r', '\n')
			line = line[cr+1:]
		}
		out = append(out, line...)
		if ended {
			out = append(out, '\r', '\n')
		}
		msg = rest
	}
	return out
}

// Authenticate authenticates with the SASL mechanism (e.g. "PLAIN",
// "SCRAM-SHA-256", "XOAUTH2"): auth is called with each decoded server
// challenge and returns the response, which is sent base64-encoded; an
// error from auth cancels the exchange ("*"). For a mechanism in which the
// client speaks first (PLAIN, EXTERNAL, XOAUTH2, OAUTHBEARER, SCRAM-*),
// auth is first called with a nil challenge, and its initial response goes
// on the AUTHENTICATE line itself when the server offers SASL-IR. A
// failure is an ErrError with the server's text (and the text of its last
// challenge, where a mechanism sends its error that way); neither
// challenges nor responses ever appear in debug output. See SASLPlain,
// SASLScram and the other Authenticators.
func (m *IMAP4) Authenticate(mechanism string, auth Authenticator) *Command {
	c := m.newCommand(cmdAuthenticate)
	if auth == nil {
		return c.add(arg{}, fmt.Errorf("no authentication function")).issue()
	}
	mechanism = strings.ToUpper(mechanism)
	c.auth, c.clientFirst, c.mechanism = auth, clientFirst(mechanism), mechanism
	return c.raw(mechanism).issue()
}

// Capability asks the server for its capabilities; the data is the raw
// CAPABILITY line. Capabilities also reflects it.
func (m *IMAP4) Capability() *Command { return m.newCommand(cmdCapability).issue() }

// Check asks for a checkpoint of the selected mailbox.
func (m *IMAP4) Check() *Command { return m.newCommand(cmdCheck).issue() }

// Close closes the selected mailbox, removing messages marked \Deleted,
// and returns to the AUTH state. (Use Shutdown or Logout to end the
// connection.)
func (m *IMAP4) Close() *Command { return m.newCommand(cmdClose).issue() }

// Copy copies the messages of messageSet to the end of newMailbox.
func (m *IMAP4) Copy(messageSet, newMailbox string) *Command {
	return m.newCommand(cmdCopy).seqSet(messageSet).mailbox(newMailbox).issue()
}

// Create creates mailbox.
func (m *IMAP4) Create(mailbox string) *Command {
	return m.newCommand(cmdCreate).mailbox(mailbox).issue()
}

// Delete deletes mailbox.
func (m *IMAP4) Delete(mailbox string) *Command {
	return m.newCommand(cmdDelete).mailbox(mailbox).issue()
}

// DeleteACL removes the access rights of who on mailbox (RFC 4314).
func (m *IMAP4) DeleteACL(mailbox, who string) *Command {
	return m.newCommand(cmdDeleteACL).mailbox(mailbox).astring(who).issue()
}

// Enable enables server extensions (RFC 5161), each sent as an atom:
// Enable("UTF8=ACCEPT"), Enable("CONDSTORE QRESYNC"). What the server
// confirms in its ENABLED response is in force: once it confirms
// UTF8=ACCEPT, non-ASCII arguments go as quoted UTF-8 and mailbox names
// are no longer encoded in modified UTF-7; SelectWith's QResync needs
// QRESYNC confirmed.
func (m *IMAP4) Enable(capability string) *Command {
	c := m.newCommand(cmdEnable)
	extensions := strings.Fields(capability)
	if len(extensions) == 0 {
		return c.add(arg{}, fmt.Errorf("no capability to enable")).issue()
	}
	for _, ext := range extensions {
		if !isAtom(ext) {
			return c.add(arg{}, fmt.Errorf("capability %q is not an atom", ext)).issue()
		}
		c.add(arg{text: ext}, nil)
	}
	return c.issue()
}

// EnableCompression starts COMPRESS=DEFLATE (RFC 4978) and waits for it:
// from then on, both directions are compressed.
func (m *IMAP4) EnableCompression() error {
	_, err := m.newCommand(cmdCompress).raw("DEFLATE").issue().Wait()
	return err
}

// Examine selects mailbox read-only; see Select.
func (m *IMAP4) Examine(mailbox string) *Command { return m.Select(mailbox, true) }

// Expunge removes the messages marked \Deleted; the data lists the
// EXPUNGE message numbers in the order they arrived.
func (m *IMAP4) Expunge() *Command { return m.newCommand(cmdExpunge).issue() }

// Fetch fetches messageParts, such as "(UID BODY[TEXT])" or "BODY[]",
// which are sent exactly as given, of the messages in messageSet. The data
// holds each message's response: its text up to each literal with the
// literal, then the text after the last literal.
func (m *IMAP4) Fetch(messageSet, messageParts string) *Command {
	return m.newCommand(cmdFetch).seqSet(messageSet).raw(messageParts).issue()
}

// FetchFunc is Fetch for large results: each message's response is handed
// to each as soon as it has been read, instead of being kept for the
// Result, so that fetching a whole mailbox runs in bounded memory and
// without an allocation per message body. The literals in message are
// valid only until each returns (their memory is reused for the next
// message): copy what you keep. each runs on the connection's reader
// goroutine, so it should return quickly; it may issue commands and call
// Shutdown, but must not wait for commands (nor call Logout, which waits).
// A panic in each is recovered and reported in the debug log.
func (m *IMAP4) FetchFunc(messageSet, messageParts string, each func(message []Datum)) *Command {
	c := m.newCommand(cmdFetch).seqSet(messageSet).raw(messageParts)
	c.each = each
	return c.issue()
}

// UIDFetchFunc is FetchFunc for UID FETCH.
func (m *IMAP4) UIDFetchFunc(uidSet, messageParts string, each func(message []Datum)) *Command {
	c := m.newCommand(cmdUIDFetch).seqSet(uidSet).raw(messageParts)
	c.each = each
	return c.issue()
}

// GetACL returns the access control list of mailbox (RFC 4314).
func (m *IMAP4) GetACL(mailbox string) *Command {
	return m.newCommand(cmdGetACL).mailbox(mailbox).issue()
}

// GetAnnotation returns annotations of mailbox (ANNOTATEMORE).
func (m *IMAP4) GetAnnotation(mailbox, entry, attribute string) *Command {
	return m.newCommand(cmdGetAnnot).mailbox(mailbox).astring(entry, attribute).issue()
}

// GetQuota returns the usage and limits of a quota root (RFC 2087).
func (m *IMAP4) GetQuota(root string) *Command {
	return m.newCommand(cmdGetQuota).astring(root).issue()
}

// GetQuotaRoot returns the quota roots of mailbox: the QUOTAROOT data
// first, then the QUOTA data, in one list.
func (m *IMAP4) GetQuotaRoot(mailbox string) *Command {
	return m.newCommand(cmdGetQuotaRoot).mailbox(mailbox).issue()
}

// ID exchanges identification with the server (RFC 2971). With no fields
// it sends ID NIL; one field is sent as it is (an already formatted list);
// otherwise fields are name/value pairs, quoted, with "" sent as NIL.
func (m *IMAP4) ID(fields ...string) *Command {
	c := m.newCommand(cmdID)
	switch {
	case len(fields) == 0:
		return c.raw("NIL").issue()
	case len(fields) == 1:
		return c.raw(fields[0]).issue()
	case len(fields)%2 != 0:
		return c.add(arg{}, fmt.Errorf("ID needs name/value pairs, got %d fields", len(fields))).issue()
	}
	q := m.quoter()
	for i, f := range fields {
		a, err := arg{text: "NIL"}, error(nil)
		if f != "" {
			a, err = q.encode(formQuoted, f)
		}
		var open, close string
		if i == 0 {
			open = "("
		}
		if i == len(fields)-1 {
			close = ")"
		}
		c.add(a.wrapped(open, close), err)
	}
	return c.issue()
}

// Idle puts the server into IDLE (RFC 2177) until it reports a change (any
// untagged response but OK), timeout passes (0 means 29 minutes), or
// another command is issued, which then follows at once. The change itself
// stays available through Response, e.g. Response("EXISTS").
func (m *IMAP4) Idle(timeout time.Duration) *Command {
	if timeout <= 0 {
		timeout = DefaultIdleTimeout
	}
	c := m.newCommand(cmdIdle)
	c.idleFor = timeout
	return c.issue()
}

// List lists the mailboxes matching pattern in directory, e.g.
// List(`""`, "*").
func (m *IMAP4) List(directory, pattern string) *Command {
	return m.newCommand(cmdList).mailbox(directory, pattern).issue()
}

// ListOptions are the options of ListWith: the selection and return
// options of LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154) and
// LIST-STATUS (RFC 5819).
type ListOptions struct {
	SelectSubscribed, SelectSpecialUse, SelectRecursiveMatch bool     // LIST (SUBSCRIBED SPECIAL-USE RECURSIVEMATCH) ...
	ReturnSubscribed, ReturnChildren, ReturnSpecialUse       bool     // RETURN (SUBSCRIBED CHILDREN SPECIAL-USE)
	ReturnStatus                                             []string // RETURN (STATUS (MESSAGES UNSEEN ...))
}

// ListWith is List with options, e.g. the special-use mailboxes with
// their status: ListWith(`""`, "*", ListOptions{ReturnSpecialUse: true,
// ReturnStatus: []string{"MESSAGES", "UNSEEN"}}). The command collects
// the STATUS responses of LIST-STATUS with the LIST responses;
// Result.Mailboxes attaches them.
func (m *IMAP4) ListWith(directory, pattern string, opts ListOptions) *Command {
	spec := cmdList
	if len(opts.ReturnStatus) > 0 {
		spec = cmdListStatus
	}
	c := m.newCommand(spec)
	if sel := listOptions(map[string]bool{"SUBSCRIBED": opts.SelectSubscribed, "SPECIAL-USE": opts.SelectSpecialUse, "RECURSIVEMATCH": opts.SelectRecursiveMatch}); sel != "" {
		c.raw("(" + sel + ")")
	}
	c.mailbox(directory, pattern)
	ret := listOptions(map[string]bool{"SUBSCRIBED": opts.ReturnSubscribed, "CHILDREN": opts.ReturnChildren, "SPECIAL-USE": opts.ReturnSpecialUse})
	if len(opts.ReturnStatus) > 0 {
		ret = strings.TrimSpace(ret + " STATUS (" + strings.Join(opts.ReturnStatus, " ") + ")")
	}
	if ret != "" {
		c.raw("RETURN", "("+ret+")")
	}
	return c.issue()
}

// listOptions returns the names whose flag is set, in a fixed order.
func listOptions(flags map[string]bool) string {
	var names []string
	for _, name := range []string{"SUBSCRIBED", "SPECIAL-USE", "RECURSIVEMATCH", "CHILDREN"} {
		if flags[name] {
			names = append(names, name)
		}
	}
	return strings.Join(names, " ")
}

// Notify sets what the server reports unasked (RFC 5465), spec sent as it
// is: "SET (SELECTED (MessageNew MessageExpunge FlagChange)) (PERSONAL
// (MessageNew MessageExpunge))", or "NONE". The events arrive as
// unsolicited responses (STATUS, EXISTS, FETCH, ...): see
// Options.Unsolicited.
func (m *IMAP4) Notify(spec string) *Command {
	return m.newCommand(cmdNotify).raw(spec).issue()
}

// Lsub lists the subscribed mailboxes matching pattern in directory.
func (m *IMAP4) Lsub(directory, pattern string) *Command {
	return m.newCommand(cmdLsub).mailbox(directory, pattern).issue()
}

// Login identifies the client with a plaintext password. The password is
// always quoted (or sent as a literal) and never shown in debug output. A
// failure is an ErrError with the server's text.
func (m *IMAP4) Login(user, password string) *Command {
	secret, err := m.quoter().encode(formQuoted, password)
	secret.secret = true
	return m.newCommand(cmdLogin).astring(user).add(secret, err).issue()
}

// LoginCramMD5 authenticates with CRAM-MD5 (RFC 2195).
func (m *IMAP4) LoginCramMD5(user, password string) *Command {
	return m.Authenticate("CRAM-MD5", func(challenge []byte) ([]byte, error) {
		mac := hmac.New(md5.New, []byte(password))
		mac.Write(challenge)
		return []byte(user + " " + hex.EncodeToString(mac.Sum(nil))), nil
	})
}

// Logout ends the session and the connection. Its Result has Type "BYE"
// and the server's BYE text. When it completes, the connection's reader and
// writer have stopped; every later command completes with ErrAbort.
func (m *IMAP4) Logout() *Command { return m.newCommand(cmdLogout).issue() }

// Move moves the messages of messageSet to mailbox (RFC 6851). Its data
// holds the EXPUNGE responses of the messages it removed, and CopyUID on
// its Result gives the COPYUID that the server sent before them.
func (m *IMAP4) Move(messageSet, mailbox string) *Command {
	return m.newCommand(cmdMove).seqSet(messageSet).mailbox(mailbox).issue()
}

// MyRights returns the caller's rights on mailbox (RFC 4314).
func (m *IMAP4) MyRights(mailbox string) *Command {
	return m.newCommand(cmdMyRights).mailbox(mailbox).issue()
}

// Namespace returns the server's namespaces (RFC 2342).
func (m *IMAP4) Namespace() *Command { return m.newCommand(cmdNamespace).issue() }

// Noop does nothing; it gives the server a chance to report changes, which
// stay available through Response.
func (m *IMAP4) Noop() *Command { return m.newCommand(cmdNoop).issue() }

// Partial fetches length bytes from start of one part of a message (an
// obsolete IMAP2bis command).
func (m *IMAP4) Partial(messageNum, messagePart string, start, length int) *Command {
	return m.newCommand(cmdPartial).seqSet(messageNum).raw(messagePart, strconv.Itoa(start), strconv.Itoa(length)).issue()
}

// ProxyAuth assumes the identity of user (for administrators).
func (m *IMAP4) ProxyAuth(user string) *Command {
	return m.newCommand(cmdProxyAuth).astring(user).issue()
}

// Recent returns the stored RECENT responses if there are any, or else
// sends NOOP and returns the RECENT responses it brings; with none, the
// data is one empty Datum.
func (m *IMAP4) Recent() *Command {
	m.mu.Lock()
	data := m.router.store.take("RECENT")
	m.mu.Unlock()
	c := m.newCommand(cmdRecent)
	if len(data) > 0 {
		c.complete(Result{Type: "OK", Data: data}, nil)
		return c
	}
	return c.issue()
}

// Rename renames oldMailbox to newMailbox.
func (m *IMAP4) Rename(oldMailbox, newMailbox string) *Command {
	return m.newCommand(cmdRename).mailbox(oldMailbox, newMailbox).issue()
}

// Search searches the selected mailbox; the data is the SEARCH line of
// matching message numbers (Result.Nums). charset "" sends no CHARSET.
// Each criterion is quoted by the usual rules: Search("", "SUBJECT",
// "hello world"). With RETURN options (ESEARCH, RFC 4731),
// Search("", "RETURN", "(MIN MAX COUNT)", "UNSEEN"), the command collects
// the ESEARCH response that names its tag (Result.ESearch), so such
// searches pipeline; plain SEARCH data names no command, so a plain SEARCH
// waits for an earlier one to complete.
func (m *IMAP4) Search(charset string, criteria ...string) *Command {
	spec := cmdSearch
	if returns(criteria) {
		spec = cmdESearch
	}
	c := m.newCommand(spec)
	if charset != "" {
		if m.session.utf8Mode() {
			return c.add(arg{}, fmt.Errorf("a charset is not valid in UTF8 mode")).issue()
		}
		c.raw("CHARSET").astring(charset)
	}
	return c.astring(criteria...).issue()
}

// Select selects mailbox ("" means INBOX), read-only if readonly (EXAMINE).
// Stored untagged responses are discarded first. The data is the EXISTS
// count; FLAGS, UIDVALIDITY etc. are available through Response. Selecting
// read-write a mailbox that the server opens read-only gives ErrReadonly.
func (m *IMAP4) Select(mailbox string, readonly bool) *Command {
	if mailbox == "" {
		mailbox = "INBOX"
	}
	return m.SelectWith(mailbox, SelectOptions{ReadOnly: readonly})
}

// SelectOptions are the options of SelectWith.
type SelectOptions struct {
	ReadOnly  bool // EXAMINE
	CondStore bool // SELECT mailbox (CONDSTORE), RFC 7162
	// QResync resynchronises a mailbox the client has seen before: SELECT
	// mailbox (QRESYNC (...)), RFC 7162. The server must have confirmed
	// QRESYNC in ENABLED first (Enable("QRESYNC")); otherwise the command
	// fails with ErrError and nothing is sent. The command collects the
	// VANISHED (EARLIER) response of the messages expunged since, and the
	// FETCH responses of the messages changed since: Vanished and Messages
	// on its Result.
	QResync *QResync
}

// QResync is what the client remembers of a mailbox for QRESYNC.
type QResync struct {
	UIDValidity uint32
	ModSeq      uint64 // the HIGHESTMODSEQ the client last saw
	KnownUIDs   NumSet // optional: the UIDs the client knows of
}

// SelectWith selects mailbox ("" means INBOX) with options; see Select.
func (m *IMAP4) SelectWith(mailbox string, opts SelectOptions) *Command {
	if mailbox == "" {
		mailbox = "INBOX"
	}
	spec := cmdSelect
	if opts.ReadOnly {
		spec = cmdExamine
	}
	if opts.QResync != nil {
		qresync := *spec
		qresync.collects = []string{"VANISHED", "FETCH"}
		spec = &qresync
	}
	c := m.newCommand(spec)
	c.examine, c.selectName = opts.ReadOnly, mailbox
	c.mailbox(mailbox)
	switch q := opts.QResync; {
	case q != nil:
		params := fmt.Sprintf("(QRESYNC (%d %d", q.UIDValidity, q.ModSeq)
		if len(q.KnownUIDs) > 0 {
			params += " " + q.KnownUIDs.String()
		}
		c.needsEnabled = "QRESYNC"
		c.raw(params + "))")
	case opts.CondStore:
		c.raw("(CONDSTORE)")
	}
	return c.issue()
}

// returns reports whether search criteria start with RETURN (RFC 4731).
func returns(criteria []string) bool {
	return len(criteria) > 0 && strings.EqualFold(criteria[0], "RETURN")
}

// SetACL grants who the rights what on mailbox (RFC 4314).
func (m *IMAP4) SetACL(mailbox, who, what string) *Command {
	return m.newCommand(cmdSetACL).mailbox(mailbox).astring(who, what).issue()
}

// SetAnnotation sets annotations: mailbox, then entry and attribute-value
// list pairs.
func (m *IMAP4) SetAnnotation(args ...string) *Command {
	return m.newCommand(cmdSetAnnot).astring(args...).issue()
}

// SetQuota sets the resource limits of a quota root, e.g.
// SetQuota("", "(STORAGE 512)").
func (m *IMAP4) SetQuota(root, limits string) *Command {
	return m.newCommand(cmdSetQuota).astring(root, limits).issue()
}

// Sort searches and sorts (RFC 5256): Sort("REVERSE DATE", "UTF-8", "ALL").
// The sort criteria get parentheses when they lack them; charset ""
// means UTF-8.
func (m *IMAP4) Sort(sortCriteria, charset string, searchCriteria ...string) *Command {
	if charset == "" {
		charset = "UTF-8"
	}
	c := m.newCommand(cmdSort)
	c.add(parenthesized(sortCriteria))
	return c.astring(charset).astring(searchCriteria...).issue()
}

// StartTLS upgrades the connection to TLS (RFC 2595) if the server offers
// STARTTLS. config nil means Options.TLSConfig, or else verification of
// the server's certificate against the system roots for the host name. A
// failed handshake ends the connection: it never goes on in plaintext.
// The capabilities are learned again afterwards.
func (m *IMAP4) StartTLS(config *tls.Config) *Command {
	c := m.newCommand(cmdStartTLS)
	c.tlsConfig = config
	return c.issue()
}

// Status returns the status items names, e.g. "(MESSAGES UNSEEN)", of
// mailbox; names is sent as it is.
func (m *IMAP4) Status(mailbox, names string) *Command {
	c := m.newCommand(cmdStatus).mailbox(mailbox)
	c.statusOf = m.quoter().mailboxName(mailbox)
	return c.raw(names).issue()
}

// Store changes the flags of the messages in messageSet: command is e.g.
// "+FLAGS" or "-FLAGS.SILENT", flags e.g. `\Deleted` (parentheses are
// added when missing). The data holds the FETCH responses it caused.
func (m *IMAP4) Store(messageSet, command, flags string) *Command {
	c := m.newCommand(cmdStore).seqSet(messageSet).raw(command)
	return c.add(parenthesized(flags)).issue()
}

// Subscribe subscribes to mailbox.
func (m *IMAP4) Subscribe(mailbox string) *Command {
	return m.newCommand(cmdSubscribe).mailbox(mailbox).issue()
}

// Thread threads messages (RFC 5256): Thread("REFERENCES", "UTF-8", "ALL").
func (m *IMAP4) Thread(algorithm, charset string, searchCriteria ...string) *Command {
	if charset == "" {
		charset = "UTF-8"
	}
	return m.newCommand(cmdThread).raw(algorithm).astring(charset).astring(searchCriteria...).issue()
}

// UID runs command (FETCH, STORE, COPY, MOVE, SEARCH, SORT, THREAD,
// EXPUNGE) with UIDs in place of message numbers. SEARCH, SORT and THREAD
// collect their own responses; the others collect FETCH responses of the
// UIDs in their set.
func (m *IMAP4) UID(command string, args ...string) *Command {
	sub := strings.ToUpper(command)
	spec := uidSpecs[sub]
	switch {
	case sub == "SEARCH" && returns(args):
		spec = cmdUIDESearch
	case sub == "FETCH" && len(args) > 1 && strings.Contains(strings.ToUpper(strings.Join(args[1:], " ")), "VANISHED"):
		spec = cmdUIDFetchVanished
	}
	if spec == nil {
		spec = &commandSpec{}
		*spec = *cmdUIDOther
		spec.name = "UID " + sub
	}
	c := m.newCommand(spec)
	if _, err := verbatim(sub); err != nil || !isAtom(sub) {
		return c.add(arg{}, fmt.Errorf("bad UID command %q", command)).issue()
	}
	switch {
	case sub == "SORT" && len(args) >= 2:
		c.add(parenthesized(args[0]))
		return c.astring(args[1:]...).issue()
	case sub == "THREAD" && len(args) >= 1:
		return c.raw(args[0]).astring(args[1:]...).issue()
	case len(args) == 0 || sub == "SEARCH" || sub == "SORT" || sub == "THREAD":
		return c.astring(args...).issue()
	}
	c.seqSet(args[0])
	switch {
	case sub == "FETCH":
		c.raw(args[1:]...)
	case sub == "STORE" && len(args) == 3:
		c.raw(args[1]).add(parenthesized(args[2]))
	case sub == "COPY" || sub == "MOVE":
		c.mailbox(args[1:]...)
	default:
		c.astring(args[1:]...)
	}
	return c.issue()
}

// Unselect leaves the selected mailbox without expunging anything
// (RFC 3691) and returns to the AUTH state.
func (m *IMAP4) Unselect() *Command { return m.newCommand(cmdUnselect).issue() }

// Unsubscribe unsubscribes from mailbox.
func (m *IMAP4) Unsubscribe(mailbox string) *Command {
	return m.newCommand(cmdUnsubscribe).mailbox(mailbox).issue()
}

// Xatom sends an extension command the server announced, e.g.
// Xatom("UNSELECT"). As its effect is unknown, it runs alone, like a
// state-changing command, and its data is the tagged response's text.
func (m *IMAP4) Xatom(name string, args ...string) *Command {
	spec := xatomSpecs[strings.ToUpper(name)]
	if spec == nil {
		spec = cmdXatom
	}
	c := m.newCommand(spec)
	c.name = strings.ToUpper(name)
	if !isAtom(c.name) {
		return c.add(arg{}, fmt.Errorf("bad command name %q", name)).issue()
	}
	return c.astring(args...).issue()
}
