package imaplib2

// AppendUID returns the APPENDUID response code of an APPEND's result
// (UIDPLUS, RFC 4315): the UIDVALIDITY of the mailbox and the UIDs the
// message (or messages) got. ok is false when the result holds no
// well-formed APPENDUID.
func (r Result) AppendUID() (uidValidity uint32, uids NumSet, ok bool) {
	name, args := r.Code()
	if name != "APPENDUID" {
		return 0, nil, false
	}
	dec := newTextDecoder(args)
	uidValidity, err := dec.number()
	if err != nil || dec.sp() != nil {
		return 0, nil, false
	}
	if uids, ok = dec.uidSet(); !ok || !dec.atEnd() {
		return 0, nil, false
	}
	return uidValidity, uids, true
}

// CopyUID returns the COPYUID response code of a COPY, UID COPY, MOVE or
// UID MOVE result (RFC 4315, RFC 6851): the UIDVALIDITY of the target
// mailbox, the UIDs copied, and the UIDs their copies got, in the same
// order. MOVE gets the code in an untagged OK before its EXPUNGEs; the
// command keeps it, so CopyUID works on its result too. ok is false when
// the result holds no well-formed COPYUID.
func (r Result) CopyUID() (uidValidity uint32, src, dst NumSet, ok bool) {
	name, args := r.Code()
	if name != "COPYUID" {
		args = r.keptCode
	}
	if args == "" {
		return 0, nil, nil, false
	}
	dec := newTextDecoder(args)
	uidValidity, err := dec.number()
	if err != nil || dec.sp() != nil {
		return 0, nil, nil, false
	}
	if src, ok = dec.uidSet(); !ok || dec.sp() != nil {
		return 0, nil, nil, false
	}
	if dst, ok = dec.uidSet(); !ok || !dec.atEnd() {
		return 0, nil, nil, false
	}
	return uidValidity, src, dst, true
}

// uidSet reads a uid-set (RFC 4315): a sequence set without "*".
func (dec *decoder) uidSet() (NumSet, bool) {
	ranges, err := dec.seqSet()
	if err != nil {
		return nil, false
	}
	set := numSetOfRanges(ranges)
	for _, r := range set {
		if r.Start == 0 || r.Stop == 0 {
			return nil, false
		}
	}
	return set, true
}
