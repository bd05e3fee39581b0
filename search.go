package imaplib2

import "strings"

// This file reads the data of the commands that answer with message
// numbers or UIDs: SEARCH and SORT (RFC 3501, RFC 5256), ESEARCH (RFC
// 4731), THREAD (RFC 5256), EXPUNGE (RFC 3501) and VANISHED (RFC 7162).
// Each Datum of a Result is one response, without its "* SEARCH" or
// "* THREAD" (a Datum that ends with a literal goes on in the next one);
// an empty Datum, which is how a Result says that nothing was collected
// and how an empty "* SEARCH" arrives, holds nothing.

// Nums returns the numbers of SEARCH, SORT and EXPUNGE data, and of their
// UID forms, in the order the server sent them; the data of several
// responses is joined in order. For the response
//
//	S: * SEARCH 2 84 882
//
// it returns 2, 84, 882. A trailing "(MODSEQ n)" (RFC 7162 CONDSTORE) is
// read past, and so are trailing spaces, which some servers send. The
// data of an ESEARCH response (SEARCH RETURN (ALL), RFC 4731) gives the
// numbers of its ALL, one by one; see ESearch and NumSet.Nums for the
// rest of it.
func (r Result) Nums() ([]uint32, error) {
	var nums []uint32
	err := eachResponse(r.Data, func(dec *decoder) error {
		if c := dec.peek(); c < '0' || c > '9' {
			var e ESearchData
			if err := e.decode(dec, "Nums"); err != nil {
				return err
			}
			all, ok := e.All.Nums()
			if ok && len(nums)+len(all) > maxNums { // several responses, each within the bound
				ok = false
			}
			if !ok {
				return newError(ErrError, "", "Nums", dec.errorf("ESEARCH ALL %s holds \"*\" or more than %d numbers", truncate(e.All.String()), maxNums))
			}
			nums = append(nums, all...)
			return nil
		}
		var err error
		if nums, err = numList(dec, nums); err != nil {
			return newError(ErrError, "", "Nums: malformed SEARCH, SORT or EXPUNGE data", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nums, nil
}

// numList reads "nz-number *(SP nz-number) [SP (MODSEQ n)]" and appends
// the numbers to nums.
func numList(dec *decoder, nums []uint32) ([]uint32, error) {
	for !dec.atEnd() {
		if dec.peek() == '(' {
			err := pairs(dec, func(key string) error {
				if key != "MODSEQ" {
					return dec.errorf("want MODSEQ")
				}
				_, err := dec.number64()
				return err
			})
			if err == nil && !dec.atEnd() {
				err = dec.errorf("want the end after the MODSEQ")
			}
			return nums, err
		}
		n, err := dec.nzNumber()
		if err != nil {
			return nums, err
		}
		nums = append(nums, n)
		if !dec.accept(' ') && !dec.atEnd() {
			return nums, dec.errorf("want a space")
		}
	}
	return nums, nil
}

// ESearchData is the data of an ESEARCH response (RFC 4731), the answer to
// a SEARCH with a RETURN option:
//
//	C: A285 UID SEARCH RETURN (MIN MAX) 1:5000
//	S: * ESEARCH (TAG "A285") UID MIN 7 MAX 3800
//
// A field the server did not return is zero.
type ESearchData struct {
	UID             bool   // the numbers are UIDs
	Min, Max, Count uint32 // MIN, MAX and COUNT
	All             NumSet // ALL: the matching messages
	ModSeq          uint64 // MODSEQ (RFC 7162): the highest mod-sequence of the matches
}

// ESearch returns the data of the ESEARCH response r holds. Its items may
// come in any order and in any case, the (TAG "...") that correlates it
// with its command is optional, and items of extensions this package does
// not know are read past. If r holds several ESEARCH responses, a later
// MIN, MAX, COUNT or MODSEQ replaces an earlier one and the ALL sets are
// joined; if it holds none, the result is zero.
func (r Result) ESearch() (ESearchData, error) {
	var e ESearchData
	if err := eachResponse(r.Data, func(dec *decoder) error { return e.decode(dec, "ESearch") }); err != nil {
		return ESearchData{}, err
	}
	return e, nil
}

// decode reads one ESEARCH response into e; its errors name fn, the
// function that asked:
//
//	[search-correlator SP] ["UID" SP] search-return-data *(SP search-return-data)
func (e *ESearchData) decode(dec *decoder, fn string) error {
	fail := func(what string, err error) error { return newError(ErrError, "", fn+": "+what, err) }
	if dec.peek() == '(' {
		if err := pairs(dec, func(string) error { return dec.skipValue() }); err != nil {
			return fail("malformed ESEARCH correlator", err)
		}
		if !dec.atEnd() {
			if err := dec.sp(); err != nil {
				return fail("after the ESEARCH correlator", err)
			}
		}
	}
	for !dec.atEnd() {
		if !isLabelStart(dec.peek()) {
			return fail("malformed ESEARCH data", dec.errorf("want a return item"))
		}
		name, _ := dec.atom() // it has its first character
		item := strings.ToUpper(name)
		if item == "UID" {
			e.UID = true
		} else {
			if err := dec.sp(); err != nil {
				return fail("ESEARCH "+item+" without a value", err)
			}
			if err := e.decodeItem(dec, item); err != nil {
				return fail("malformed ESEARCH "+item, err)
			}
		}
		if !dec.atEnd() {
			if err := dec.sp(); err != nil {
				return fail("after ESEARCH "+item, err)
			}
		}
	}
	return nil
}

// decodeItem reads the value of the ESEARCH item named item (upper case).
func (e *ESearchData) decodeItem(dec *decoder, item string) error {
	var err error
	switch item {
	case "MIN":
		e.Min, err = dec.nzNumber()
	case "MAX":
		e.Max, err = dec.nzNumber()
	case "COUNT":
		e.Count, err = dec.number()
	case "MODSEQ":
		e.ModSeq, err = dec.number64()
	case "ALL":
		var set seqRanges
		if set, err = dec.seqSet(); err == nil {
			e.All = append(e.All, numSetOfRanges(set)...)
		}
	default:
		err = dec.taggedExtVal()
	}
	return err
}

// isLabelStart reports whether c may begin the name of an ESEARCH item
// (RFC 4466 tagged-label-fchar).
func isLabelStart(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '-' || c == '_' || c == '.'
}

// pairs reads a parenthesized list of names, each followed by a space
// and a value, such as (TAG "A282") or (MODSEQ 917162500); value reads
// the value of the name it is given in upper case.
func pairs(dec *decoder, value func(name string) error) error {
	return dec.list(func() error {
		name, err := dec.atom()
		if err != nil {
			return err
		}
		if err := dec.sp(); err != nil {
			return err
		}
		return value(strings.ToUpper(name))
	})
}

// A Thread is one message of THREAD data (RFC 5256) with the messages
// that answer it. Each message of
//
//	S: * THREAD (2)(3 6 (4 23)(44 7 96))
//
// becomes a Thread: the first thread is 2 alone; in the second, 6 answers
// 3, and 4 and 44 answer 6, each with its own answers (23; 7 and then 96).
// A list of numbers is a chain, each message a child of the one before:
//
//	[{Num: 2},
//	 {Num: 3, Children: [
//	   {Num: 6, Children: [
//	     {Num: 4, Children: [{Num: 23}]},
//	     {Num: 44, Children: [{Num: 7, Children: [{Num: 96}]}]}]}]}]
//
// A thread whose first message is missing from the mailbox, as in
// "((1)(2))", has Num 0, and its children are the messages that answer it.
type Thread struct {
	Num      uint32   // the message number or UID; 0 for a missing parent
	Children []Thread // the messages that answer it
}

// maxThreadNesting bounds how deeply the lists of THREAD data may nest:
// deeper data is an error, never a stack overflow. A long chain of numbers
// inside one list, "(1 2 3 ... 5000)", is not nesting and has no bound
// but the line's length.
const maxThreadNesting = 1000

// Threads returns the threads of THREAD data (RFC 5256), in the order the
// server sent them; see Thread. The data of several responses is joined
// in order. Lists nested more than 1,000 deep are an error.
func (r Result) Threads() ([]Thread, error) {
	var threads []Thread
	err := eachResponse(r.Data, func(dec *decoder) error {
		for !dec.atEnd() {
			t, err := threadList(dec, 1)
			if err != nil {
				return newError(ErrError, "", "Threads: malformed THREAD data", err)
			}
			threads = append(threads, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return threads, nil
}

// threadList reads a thread-list of RFC 5256, at the given depth of
// nesting:
//
//	"(" (nz-number *(SP nz-number) [SP 1*thread-list] / 1*thread-list) ")"
//
// RFC 5256 wants two or more nested lists; one is accepted, since it
// can only mean one child.
func threadList(dec *decoder, depth int) (Thread, error) {
	if depth > maxThreadNesting {
		return Thread{}, dec.errorf("lists nested deeper than %d", maxThreadNesting)
	}
	if err := dec.expect('('); err != nil {
		return Thread{}, err
	}
	var chain []uint32
	for dec.peek() != '(' {
		n, err := dec.nzNumber()
		if err != nil {
			return Thread{}, err
		}
		chain = append(chain, n)
		if dec.accept(')') {
			return threadChain(chain, nil), nil
		}
		if err := dec.sp(); err != nil {
			return Thread{}, dec.errorf("want a space or \")\"")
		}
	}
	var children []Thread
	for dec.peek() == '(' {
		t, err := threadList(dec, depth+1)
		if err != nil {
			return Thread{}, err
		}
		children = append(children, t)
	}
	if err := dec.expect(')'); err != nil {
		return Thread{}, err
	}
	return threadChain(chain, children), nil
}

// threadChain returns the thread of the chain of messages nums, each a
// child of the one before, whose last message has children. An empty
// chain is a missing parent, with Num 0.
func threadChain(nums []uint32, children []Thread) Thread {
	if len(nums) == 0 {
		return Thread{Children: children}
	}
	t := Thread{Num: nums[len(nums)-1], Children: children}
	for i := len(nums) - 2; i >= 0; i-- {
		t = Thread{Num: nums[i], Children: []Thread{t}}
	}
	return t
}

// Vanished returns the UIDs of the VANISHED responses r holds (RFC 7162
// QRESYNC), the sets of all its responses one after the other, in order:
//
//	S: * VANISHED (EARLIER) 41,43:116,118,120:211,214:540
//	S: * VANISHED 405,407,410,425
//
// give 41,43:116,118,120:211,214:540,405,407,410,425. Whether a response
// said EARLIER (it reports messages expunged before the command) is not
// kept.
func (r Result) Vanished() (NumSet, error) {
	var set NumSet
	err := eachResponse(r.Data, func(dec *decoder) error {
		if isFetchData(dec.text) { // a QRESYNC SELECT collects FETCH data too
			return nil
		}
		if dec.peek() == '(' {
			start := dec.pos
			if word := dec.token(func(c rune) bool { return c == ' ' }); !strings.EqualFold(word, "(EARLIER)") {
				dec.pos = start
				return newError(ErrError, "", "Vanished", dec.errorf("want (EARLIER)"))
			}
			if err := dec.sp(); err != nil {
				return newError(ErrError, "", "Vanished: after (EARLIER)", err)
			}
		}
		uids, err := readNumSet(dec)
		if err != nil {
			return newError(ErrError, "", "Vanished: malformed UID set", err)
		}
		set = append(set, uids...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return set, nil
}
