package analysis

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/streamx/streamx/detect"
	"github.com/streamx/streamx/extractors/plainauth"
	"github.com/streamx/streamx/manifest"
)

// findings works out, at the end of the run, the notices: from the
// protocol logs, the logins, every connection attempt, and the
// connections on unusual ports. Everything they are drawn from was kept in
// the order it arrived, which with several workers differs from run to
// run: it is sorted first (by capture time, then connection, then the
// rest), so that the notices, their evidence and their first-N lists are
// the same whatever that order.
type findings struct {
	c  *Collector
	th Thresholds
	ns *noticeSet
	// connAttempts: the failed connection attempts, by time then connection.
	connAttempts []*connAttempt
	// inScan: connections folded into a Scan notice.
	inScan map[uint64]bool
	// brute: src|dst|port|service of the logins folded into a Brute_Force
	// notice.
	brute map[string]bool
}

func (c *Collector) findings() {
	c.sortInputs()
	f := &findings{c: c, th: c.th, ns: c.ns, connAttempts: c.attempts.sorted(), inScan: map[uint64]bool{}, brute: map[string]bool{}}
	authTLS := map[string]string{}
	for i := range c.ftp {
		l := &c.ftp[i]
		if l.Command == "AUTH" && l.ReplyCode == 234 {
			authTLS[l.UID] = "FTP AUTH " + strings.ToUpper(l.Arg)
		}
	}
	ports := c.ports
	for _, d := range c.deferred {
		ports = append(ports, portEvent{uid: d.uid, ts: d.ts, id: d.id, svc: detect.FTP, switched: authTLS[d.uid] != ""})
		if c.tables != nil {
			class, how := ClassPlaintext, detect.FTP
			if sw := authTLS[d.uid]; sw != "" {
				class, how = ClassEncrypted, "TLS after "+sw
			}
			c.tables.classDeferred(d, class, how)
		}
	}
	slices.SortFunc(ports, func(a, b portEvent) int { return cmp.Or(a.ts.Compare(b.ts), compareUID(a.uid, b.uid)) })
	for i := range ports {
		c.portFinding(&ports[i])
	}
	f.scans()
	f.logins()
	f.httpStatus()
	f.transfers()
	f.unanswered()
}

// sortInputs puts what the findings are drawn from in a deterministic
// order: log lines by time, connection, then every field the findings
// read (identical lines are interchangeable); FTP control connections by
// time and connection (each is there once). The logins are put in order
// with the log lines' by attempts.
func (c *Collector) sortInputs() {
	slices.SortStableFunc(c.ftp, compareFTPLines)
	slices.SortStableFunc(c.http, compareHTTPLines)
	slices.SortFunc(c.deferred, func(a, b deferredConn) int { return cmp.Or(a.ts.Compare(b.ts), compareUID(a.uid, b.uid)) })
}

func compareFTPLines(a, b FTPLine) int {
	return cmp.Or(a.TS.Compare(b.TS.Time), compareUID(a.UID, b.UID), compareConnID(a.ConnID, b.ConnID),
		cmp.Compare(a.Command, b.Command), cmp.Compare(a.Arg, b.Arg), cmp.Compare(a.User, b.User),
		cmp.Compare(a.Password, b.Password), cmp.Compare(a.ReplyCode, b.ReplyCode), cmp.Compare(a.ReplyMsg, b.ReplyMsg),
		cmp.Compare(a.Login, b.Login), cmp.Compare(a.Direction, b.Direction), comparePtr(a.ExpectedSize, b.ExpectedSize),
		comparePtr(a.FileSize, b.FileSize), cmp.Compare(a.State, b.State), cmp.Compare(a.Reason, b.Reason),
		compareUID(a.DataUID, b.DataUID), cmp.Compare(a.Note, b.Note))
}

func compareHTTPLines(a, b HTTPLine) int {
	return cmp.Or(a.TS.Compare(b.TS.Time), compareUID(a.UID, b.UID), cmp.Compare(a.TransDepth, b.TransDepth),
		compareConnID(a.ConnID, b.ConnID), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Host, b.Host),
		cmp.Compare(a.URI, b.URI), cmp.Compare(a.StatusCode, b.StatusCode), cmp.Compare(a.StatusMsg, b.StatusMsg),
		cmp.Compare(a.Username, b.Username), cmp.Compare(a.Password, b.Password),
		cmp.Compare(a.RequestBodyLen, b.RequestBodyLen), cmp.Compare(a.ResponseBodyLen, b.ResponseBodyLen),
		cmp.Compare(a.State, b.State), slices.Compare(a.Flags, b.Flags))
}

func compareConnID(a, b manifest.ConnID) int {
	return cmp.Or(a.OrigH.Compare(b.OrigH), cmp.Compare(a.OrigP, b.OrigP), a.RespH.Compare(b.RespH), cmp.Compare(a.RespP, b.RespP))
}

func comparePtr[T cmp.Ordered](a, b *T) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp.Compare(*a, *b)
}

// compareUID orders connection uids ("C" and a zero-padded number, at
// least 6 digits) by their number: shorter first, then as text.
func compareUID(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}

// --- logins ---

// attempt is one login attempt, from whichever log.
type attempt struct {
	ts       time.Time
	uid      string
	id       manifest.ConnID
	service  string
	mech     string
	user     string
	password string
	secret   bool   // a password (or a Basic credential pair) was sent
	outcome  string // plainauth.Success, Failure, or ""
	log      string
	evidence map[string]any
}

func (a *attempt) serverKey() string {
	return fmt.Sprintf("%s|%s|%d|%s", a.id.OrigH, a.id.RespH, a.id.RespP, a.service)
}

func (f *findings) attempts() []attempt {
	var out []attempt
	for i := range f.c.ftp {
		l := &f.c.ftp[i]
		if l.Login == "" && l.Command != "PASS" {
			continue
		}
		if l.Command != "PASS" && l.Login != "failure" {
			continue
		}
		a := attempt{ts: l.TS.Time, uid: l.UID, id: l.ConnID, service: "ftp", mech: "USER/PASS",
			user: l.User, outcome: l.Login, log: "ftp",
			evidence: map[string]any{"user": l.User, "command": l.Command, "reply_code": l.ReplyCode, "reply_msg": l.ReplyMsg}}
		if l.Command == "PASS" {
			a.secret = true
			a.password = l.Password
			if a.password == "" {
				a.password = l.Arg
			}
			a.evidence["password"] = a.password
		}
		if l.Login != "" {
			a.evidence["login"] = l.Login
		}
		out = append(out, a)
	}
	for i := range f.c.http {
		l := &f.c.http[i]
		if l.Username == "" {
			continue
		}
		a := attempt{ts: l.TS.Time, uid: l.UID, id: l.ConnID, service: "http", mech: "Basic",
			user: l.Username, password: l.Password, secret: true, log: "http",
			evidence: map[string]any{"username": l.Username, "password": l.Password, "method": l.Method,
				"host": l.Host, "uri": l.URI, "status_code": l.StatusCode, "status_msg": l.StatusMsg, "trans_depth": l.TransDepth}}
		switch {
		case l.StatusCode == 401 || l.StatusCode == 403:
			a.outcome = plainauth.Failure
		case l.StatusCode >= 100 && l.StatusCode < 400:
			a.outcome = plainauth.Success
		}
		out = append(out, a)
	}
	for _, ev := range f.c.logins {
		if ev.Kind != plainauth.KindLogin {
			continue
		}
		a := attempt{ts: ev.TS, uid: ev.UID, id: ev.ConnID, service: ev.Service, mech: ev.Mechanism,
			user: ev.User, password: ev.Password, secret: ev.Password != "", outcome: ev.Outcome, log: ev.Service,
			evidence: map[string]any{"user": ev.User, "password": ev.Password, "mechanism": ev.Mechanism}}
		if ev.Reply != "" {
			a.evidence["reply"] = ev.Reply
		}
		if ev.Outcome != "" {
			a.evidence["login"] = ev.Outcome
		}
		out = append(out, a)
	}
	// By time, then connection. The log lines are in order already; the
	// logins are in the order they arrived, which between connections
	// differs from run to run, but one connection's logins come from one
	// goroutine, in the order its protocol went: a stable sort keeps that.
	slices.SortStableFunc(out, func(a, b attempt) int { return cmp.Or(a.ts.Compare(b.ts), compareUID(a.uid, b.uid)) })
	return out
}

// isAnonymous: FTP's anonymous users, whose "password" is by convention an
// e-mail address, not a secret.
func isAnonymous(service, user string) bool {
	u := strings.ToLower(user)
	return service == "ftp" && (u == "anonymous" || u == "ftp")
}

func outcomeWords(o string) string {
	switch o {
	case plainauth.Success:
		return "accepted"
	case plainauth.Failure:
		return "refused"
	}
	return "outcome not seen"
}

func (f *findings) logins() {
	all := f.attempts()
	// Brute force first: the failures it folds in are not reported again.
	failures := map[string][]attempt{}
	var order []string
	for _, a := range all {
		if a.outcome != plainauth.Failure {
			continue
		}
		k := a.serverKey()
		if failures[k] == nil {
			order = append(order, k)
		}
		failures[k] = append(failures[k], a)
	}
	for _, k := range order {
		fs := failures[k]
		if !countReaches(len(fs), func(i int) time.Time { return fs[i].ts }, f.th.BruteForce, f.th.BruteWindow) {
			continue
		}
		f.brute[k] = true
		f.bruteForce(k, fs, all)
	}
	for _, a := range all {
		folded := a.outcome == plainauth.Failure && f.brute[a.serverKey()]
		if a.secret && !isAnonymous(a.service, a.user) && !folded {
			f.credentials(a)
		}
		if a.outcome == plainauth.Failure && !folded {
			f.failedLogin(a)
		}
	}
}

func (f *findings) credentials(a attempt) {
	key := strings.Join([]string{NotePlaintextCredentials, a.serverKey(), a.user, a.password}, "|")
	f.ns.add(key, a.ts, a.uid, func() *Notice {
		n := connNotice(NotePlaintextCredentials, a.ts, a.uid, a.id)
		n.Service, n.Log = a.service, a.log
		n.Sub = fmt.Sprintf("%s user=%s", a.service, a.user)
		n.Msg = fmt.Sprintf("%s %s credentials sent in clear: user %q, password %q (%s)",
			strings.ToUpper(a.service), a.mech, a.user, a.password, outcomeWords(a.outcome))
		n.Evidence = copyMap(a.evidence)
		n.Evidence["outcomes"] = []string{outcomeWords(a.outcome)}
		return n
	}, func(n *Notice) {
		n.Evidence["outcomes"] = appendUnique(n.Evidence["outcomes"].([]string), outcomeWords(a.outcome), 3)
	})
}

func (f *findings) failedLogin(a attempt) {
	key := strings.Join([]string{NoteFailedLogin, a.serverKey(), a.user}, "|")
	f.ns.add(key, a.ts, a.uid, func() *Notice {
		n := connNotice(NoteFailedLogin, a.ts, a.uid, a.id)
		n.Service, n.Log = a.service, a.log
		n.Sub = fmt.Sprintf("%s user=%s", a.service, a.user)
		why := ""
		switch a.log {
		case "ftp":
			why = fmt.Sprintf("%d %s", a.evidence["reply_code"], a.evidence["reply_msg"])
		case "http":
			why = fmt.Sprintf("%d %s to %s %s", a.evidence["status_code"], a.evidence["status_msg"], a.evidence["method"], a.evidence["uri"])
		default:
			why = fmt.Sprint(a.evidence["reply"])
		}
		n.Msg = fmt.Sprintf("failed %s login for user %q from %s: %s", strings.ToUpper(a.service), a.user, a.id.OrigH, why)
		n.Evidence = copyMap(a.evidence)
		return n
	}, nil)
}

func (f *findings) bruteForce(k string, fs []attempt, all []attempt) {
	a := fs[0]
	var users []string
	uids := []string{}
	for _, x := range fs {
		users = appendUnique(users, x.user, 20)
		uids = appendUnique(uids, x.uid, maxUIDs)
	}
	// a success from the same source after the failures began
	var success *attempt
	for i := range all {
		x := &all[i]
		if x.serverKey() == k && x.outcome == plainauth.Success && !x.ts.Before(a.ts) {
			success = x
		}
	}
	last := fs[len(fs)-1].ts
	n := connNotice(NoteBruteForce, a.ts, a.uid, a.id)
	n.OrigP = 0
	n.Service, n.Log = a.service, a.log
	n.Sub = fmt.Sprintf("%s %d failures", a.service, len(fs))
	n.N = len(fs)
	n.LastTS.Time = last
	n.UIDs = uids
	n.Msg = fmt.Sprintf("%d failed %s logins from %s against %s within %s (users: %s)",
		len(fs), strings.ToUpper(a.service), a.id.OrigH, addrPort(a.id.RespH, a.id.RespP), fmtDur(last.Sub(a.ts)), strings.Join(users, ", "))
	n.Evidence = map[string]any{"failures": len(fs), "users": users}
	var tried []map[string]any
	for i, x := range fs {
		if i >= 20 {
			break
		}
		tried = append(tried, map[string]any{"ts": manifest.TS{Time: x.ts}, "uid": x.uid, "user": x.user, "password": x.password})
	}
	n.Evidence["attempts"] = tried
	if success != nil {
		n.Msg += fmt.Sprintf("; then user %q logged in", success.user)
		n.Evidence["then_logged_in"] = map[string]any{"ts": manifest.TS{Time: success.ts}, "uid": success.uid, "user": success.user}
	}
	n.key = strings.Join([]string{NoteBruteForce, k}, "|")
	f.ns.byKey[n.key] = n
}

// --- HTTP status codes ---

func (f *findings) httpStatus() {
	ls := f.c.http
	for i := range ls {
		l := &ls[i]
		if l.StatusCode < 400 || l.StatusCode > 599 {
			continue
		}
		if l.Username != "" && (l.StatusCode == 401 || l.StatusCode == 403) {
			continue // a refused login: Failed_Login
		}
		note := NoteHTTPError
		if l.StatusCode == 401 || l.StatusCode == 403 {
			if f.challenge(l) {
				continue
			}
			note = NoteAccessDenied
		}
		key := fmt.Sprintf("%s|%s|%s|%d|%s|%s|%d", note, l.OrigH, l.RespH, l.RespP, l.Host, l.URI, l.StatusCode)
		f.ns.add(key, l.TS.Time, l.UID, func() *Notice {
			n := connNotice(note, l.TS.Time, l.UID, l.ConnID)
			n.Service, n.Log = "http", "http"
			n.Sub = fmt.Sprintf("%d %s", l.StatusCode, l.URI)
			if note == NoteAccessDenied {
				n.Msg = fmt.Sprintf("HTTP %d %s for %s %s without credentials", l.StatusCode, l.StatusMsg, l.Method, l.URI)
			} else {
				n.Msg = fmt.Sprintf("HTTP %d %s for %s %s", l.StatusCode, l.StatusMsg, l.Method, l.URI)
			}
			n.Evidence = map[string]any{"method": l.Method, "host": l.Host, "uri": l.URI, "status_code": l.StatusCode,
				"status_msg": l.StatusMsg, "trans_depth": l.TransDepth, "response_body_len": l.ResponseBodyLen}
			return n
		}, nil)
	}
}

// challenge reports whether the 401/403 l (a request without credentials)
// was followed, within ChallengeWindow, by the same client sending
// credentials to the same server for the same URI: an authentication
// challenge answered, not access denied.
func (f *findings) challenge(l *HTTPLine) bool {
	for i := range f.c.http {
		x := &f.c.http[i]
		if x.Username == "" || x.OrigH != l.OrigH || x.RespH != l.RespH || x.RespP != l.RespP || x.URI != l.URI || x.Host != l.Host {
			continue
		}
		if d := x.TS.Sub(l.TS.Time); d >= 0 && d <= f.th.ChallengeWindow && (x.UID != l.UID || x.TransDepth > l.TransDepth) {
			return true
		}
	}
	return false
}

// --- transfers cut short ---

func (f *findings) transfers() {
	for i := range f.c.http {
		l := &f.c.http[i]
		if l.State != "truncated" {
			continue
		}
		ev := map[string]any{"method": l.Method, "host": l.Host, "uri": l.URI, "status_code": l.StatusCode,
			"request_body_len": l.RequestBodyLen, "response_body_len": l.ResponseBodyLen, "state": l.State,
			"trans_depth": l.TransDepth}
		if len(l.Flags) > 0 {
			ev["flags"] = l.Flags
		}
		what := fmt.Sprintf("%s %s", l.Method, l.URI)
		bytes := fmt.Sprintf("%d response body bytes", l.ResponseBodyLen)
		if l.StatusCode == 0 || l.RequestBodyLen > 0 && l.ResponseBodyLen == 0 {
			bytes = fmt.Sprintf("%d request body bytes", l.RequestBodyLen)
		}
		f.cut("http", l.UID, l.UID, l.TS.Time, l.ConnID, fmt.Sprintf("%s|%d", l.UID, l.TransDepth), what, bytes, f.c.join(l.UID), ev)
	}
	for i := range f.c.ftp {
		l := &f.c.ftp[i]
		if l.Direction == "" || l.State != "truncated" {
			continue
		}
		ev := map[string]any{"command": l.Command, "arg": l.Arg, "direction": l.Direction, "state": l.State,
			"reason": l.Reason, "reply_code": l.ReplyCode, "data_uid": l.DataUID}
		if l.FileSize != nil {
			ev["file_size"] = *l.FileSize
		}
		if l.ExpectedSize != nil {
			ev["expected_size"] = *l.ExpectedSize
		}
		size := "?"
		if l.FileSize != nil {
			size = fmt.Sprint(*l.FileSize)
		}
		bytes := size + " bytes"
		if l.ExpectedSize != nil {
			bytes += fmt.Sprintf(" of %d", *l.ExpectedSize)
		}
		if l.Reason != "" {
			bytes += " (" + l.Reason + ")"
		}
		f.cut("ftp", l.UID, l.DataUID, l.TS.Time, l.ConnID, fmt.Sprintf("%s|%s|%s|%d", l.UID, l.DataUID, l.Arg, l.TS.UnixMicro()),
			l.Command+" "+l.Arg, bytes, f.c.join(l.DataUID), ev)
	}
}

// cut reports a transfer that did not end as its protocol frames it:
// Reset_Mid_Transfer when its connection (j, the data connection for FTP)
// was reset, Truncated_Transfer otherwise.
func (f *findings) cut(log, uid, connUID string, ts time.Time, id manifest.ConnID, key, what, bytes string, j *joinInfo, ev map[string]any) {
	note := NoteTruncatedTransfer
	how := "ended before its announced end"
	if j != nil {
		ev["conn_state"] = j.state
		ev["history"] = j.history
		if j.missed > 0 {
			ev["missed_bytes"] = j.missed
			how = fmt.Sprintf("is missing %d bytes from the capture", j.missed)
		}
		switch {
		case j.rst[0] && j.rst[1]:
			note, how = NoteResetMidTransfer, "was cut by resets from both sides"
		case j.rst[0]:
			note, how = NoteResetMidTransfer, "was cut by a reset from the client side ("+j.orig.Addr().String()+")"
		case j.rst[1]:
			note, how = NoteResetMidTransfer, "was cut by a reset from the server side ("+j.resp.Addr().String()+")"
		}
		if j.orig.Port() != id.OrigP || j.resp.Port() != id.RespP {
			ev["data_conn"] = map[string]any{"id.orig_h": j.orig.Addr(), "id.orig_p": j.orig.Port(), "id.resp_h": j.resp.Addr(), "id.resp_p": j.resp.Port()}
		}
	}
	f.ns.add(note+"|"+key, ts, uid, func() *Notice {
		n := connNotice(note, ts, uid, id)
		n.Service, n.Log = log, log
		n.Sub = what
		n.Msg = fmt.Sprintf("%s %s: %s transfer %s after %s", strings.ToUpper(log), what, log, how, bytes)
		n.Evidence = ev
		if connUID != uid {
			n.addUID(connUID)
		}
		return n
	}, nil)
}

// --- services and ports ---

// plaintextServices are the content names of protocols that carry their
// commands and data in clear.
var plaintextServices = map[string]bool{detect.HTTP: true, detect.FTP: true, detect.SMTP: true, detect.POP3: true,
	detect.IMAP: true, detect.Telnet: true}

// portEvent is a connection whose service and server port disagree (a
// port finding), kept until the end of the run so that the findings are
// told in capture order.
type portEvent struct {
	uid      string
	ts       time.Time
	id       manifest.ConnID
	svc      string
	switched bool // the session went on in TLS
}

// verdict judges a connection's service against its server port:
// Plaintext_Where_Encryption_Usual for a plaintext protocol on a port
// where TLS or SSH is usual (or telnet anywhere), unless the session
// switched to TLS; Service_Nonstandard_Port for any other mismatch; ""
// when they agree. FTP data channels are not judged (their content is a
// file).
func (e *portEvent) verdict() (note, hint string) {
	if e.svc == "" || e.svc == "ftp-data" {
		return "", ""
	}
	hint = detect.PortHint(e.id.RespP)
	plainUsual := plaintextServices[e.svc] && !e.switched && (hint == detect.TLS || hint == detect.SSH || e.svc == detect.Telnet)
	switch {
	case plainUsual:
		return NotePlaintextUsual, hint
	case e.svc != hint:
		return NoteNonstandardPort, hint
	}
	return "", hint
}

func (e *portEvent) note() string {
	n, _ := e.verdict()
	return n
}

// portFinding adds the port finding of a connection, if any.
func (c *Collector) portFinding(e *portEvent) {
	note, hint := e.verdict()
	if note == "" {
		return
	}
	uid, ts, id, svc := e.uid, e.ts, e.id, e.svc
	server := addrPort(id.RespH, id.RespP)
	client := id.OrigH.String()
	key := fmt.Sprintf("%s|%s|%s", note, server, svc)
	c.ns.add(key, ts, uid, func() *Notice {
		n := connNotice(note, ts, uid, id)
		n.Service, n.Log = svc, "flows"
		n.Sub = fmt.Sprintf("%s on %d", svc, id.RespP)
		switch {
		case note == NoteNonstandardPort && hint == "":
			n.Msg = fmt.Sprintf("%s on %s, a port no standard service uses", svc, server)
		case note == NoteNonstandardPort:
			n.Msg = fmt.Sprintf("%s on %s, a port where %s is usual", svc, server, hint)
		case hint == "" || hint == svc:
			n.Msg = fmt.Sprintf("%s in plaintext on %s: a remote login where SSH is usual", svc, server)
		default:
			n.Msg = fmt.Sprintf("plaintext %s on %s, a port where %s is usual", svc, server, hint)
		}
		n.Evidence = map[string]any{"service": svc, "port_hint": hintWord(hint), "clients": []string{client}}
		return n
	}, func(n *Notice) { n.Evidence["clients"] = appendUnique(n.Evidence["clients"].([]string), client, 20) })
}

func hintWord(h string) string {
	if h == "" {
		return "none"
	}
	return h
}

// --- connection attempts: scans, no answer, rejected ---

// failedAttempt: the originator sent a SYN and no data went either way,
// and the connection was not a clean open-and-close (SF) nor left open
// (S1): refused, unanswered, or reset after the handshake.
func failedAttempt(cs *connInfo) bool {
	return cs.OrigBy == "syn" && cs.OrigBytes == 0 && cs.RespBytes == 0 && cs.ConnState != "SF" && cs.ConnState != "S1"
}

// noAnswer: the originator sent a SYN and the responder sent nothing at
// all, and the originator never acknowledged anything either (it did not
// get an answer the capture missed).
func noAnswer(cs *connInfo) bool {
	return cs.OrigBy == "syn" && cs.RespPkts == 0 && !cs.origAcked
}

func (f *findings) scans() {
	bySrc := map[netip.Addr][]*connAttempt{}
	var srcs []netip.Addr
	for _, a := range f.connAttempts {
		if a.flags&attFailed == 0 {
			continue
		}
		src := a.origAddr()
		if bySrc[src] == nil {
			srcs = append(srcs, src)
		}
		bySrc[src] = append(bySrc[src], a)
	}
	for _, src := range srcs {
		list := bySrc[src]
		if len(list) < min(f.th.ScanPorts, f.th.ScanHosts) {
			continue
		}
		// address scan: many hosts
		if distinctReaches(list, func(a *connAttempt) string { return string(a.resp[:]) }, f.th.ScanHosts, f.th.ScanWindow) {
			f.scanNotice("address scan", list, nil)
			continue
		}
		// port scan: many ports of one host
		byDst := map[netip.Addr][]*connAttempt{}
		var dsts []netip.Addr
		for _, a := range list {
			d := a.respAddr()
			if byDst[d] == nil {
				dsts = append(dsts, d)
			}
			byDst[d] = append(byDst[d], a)
		}
		for _, d := range dsts {
			dl := byDst[d]
			if distinctReaches(dl, func(a *connAttempt) string { return fmt.Sprint(a.rport) }, f.th.ScanPorts, f.th.ScanWindow) {
				f.scanNotice("port scan", dl, &d)
			}
		}
	}
}

func (f *findings) scanNotice(kind string, list []*connAttempt, dst *netip.Addr) {
	first, last := list[0], list[len(list)-1]
	states := map[string]int{}
	ports, hosts, answered, uids := []int{}, []string{}, []string{}, []string{}
	for _, a := range list {
		f.inScan[a.idx] = true
		states[a.connState()]++
		ports = appendUnique(ports, int(a.rport), 1000)
		hosts = appendUnique(hosts, a.respAddr().String(), 1000)
		if a.flags&attSynAck != 0 {
			answered = appendUnique(answered, addrPort(a.respAddr(), a.rport).String(), 100)
		}
		if len(uids) < maxUIDs {
			uids = append(uids, a.uid())
		}
	}
	slices.Sort(ports)
	src := first.origAddr()
	n := &Notice{Note: NoteScan, Proto: "tcp", Src: src, N: len(list), UIDs: uids, Log: "flows"}
	n.TS.Time, n.LastTS.Time, n.UID = first.first(), last.first(), first.uid()
	span := fmtDur(last.first().Sub(first.first()))
	if dst != nil {
		n.Dst = *dst
		n.Sub = fmt.Sprintf("port scan of %s: %d ports", dst, len(ports))
		n.Msg = fmt.Sprintf("%s tried %d ports of %s within %s (%s); %d answered",
			src, len(ports), dst, span, statesWords(states), len(answered))
	} else {
		n.Sub = fmt.Sprintf("address scan: %d hosts", len(hosts))
		n.Msg = fmt.Sprintf("%s tried %d hosts within %s (%s); %d answered",
			src, len(hosts), span, statesWords(states), len(answered))
	}
	n.Evidence = map[string]any{"kind": kind, "attempts": len(list), "conn_states": states, "ports": ports, "hosts": hosts, "answered": answered}
	n.key = fmt.Sprintf("%s|%s|%v|%s", NoteScan, src, dst, kind)
	f.ns.byKey[n.key] = n
}

func statesWords(states map[string]int) string {
	keys := make([]string, 0, len(states))
	for k := range states {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", states[k], k))
	}
	return strings.Join(parts, ", ")
}

func (f *findings) unanswered() {
	end := f.c.traffic.last
	for _, a := range f.connAttempts {
		if f.inScan[a.idx] {
			continue
		}
		uid, ts := a.uid(), a.first()
		id := manifest.ConnID{OrigH: a.origAddr(), OrigP: a.oport, RespH: a.respAddr(), RespP: a.rport}
		client := id.OrigH.String()
		switch {
		case a.flags&attNoAnswer != 0:
			if a.origPkts < 2 && end.Sub(a.lastTime()) < f.th.NoAnswerWait {
				continue // a SYN at the very end of the capture
			}
			key := fmt.Sprintf("%s|%s|%d", NoteNoAnswer, id.RespH, id.RespP)
			f.ns.add(key, ts, uid, func() *Notice {
				n := serverNotice(NoteNoAnswer, ts, uid, id)
				n.Evidence = map[string]any{"clients": []string{client}, "syns": int(a.origPkts),
					"conn_states": []string{a.connState()}, "history": a.history()}
				return n
			}, func(n *Notice) {
				n.Evidence["clients"] = appendUnique(n.Evidence["clients"].([]string), client, 20)
				n.Evidence["syns"] = n.Evidence["syns"].(int) + int(a.origPkts)
				n.Evidence["conn_states"] = appendUnique(n.Evidence["conn_states"].([]string), a.connState(), 10)
			})
		case a.connState() == "REJ":
			key := fmt.Sprintf("%s|%s|%d", NoteRejected, id.RespH, id.RespP)
			f.ns.add(key, ts, uid, func() *Notice {
				n := serverNotice(NoteRejected, ts, uid, id)
				n.Evidence = map[string]any{"clients": []string{client}, "conn_state": a.connState(), "history": a.history()}
				return n
			}, func(n *Notice) {
				n.Evidence["clients"] = appendUnique(n.Evidence["clients"].([]string), client, 20)
			})
		}
	}
	// messages need the final counts
	for _, n := range f.ns.byKey {
		switch n.Note {
		case NoteNoAnswer:
			n.Msg = fmt.Sprintf("%s never answered %s (%d SYNs, no SYN-ACK or RST)",
				addrPort(n.Dst, n.P), plural(n.N, "connection attempt"), n.Evidence["syns"])
		case NoteRejected:
			n.Msg = fmt.Sprintf("%s refused %s (RST in answer to the SYN: nothing listens there)",
				addrPort(n.Dst, n.P), plural(n.N, "connection attempt"))
		}
	}
}

// --- helpers ---

// connNotice starts a notice about one connection: src is the originator.
func connNotice(note string, ts time.Time, uid string, id manifest.ConnID) *Notice {
	n := &Notice{Note: note, Proto: "tcp", OrigH: id.OrigH, OrigP: id.OrigP, RespH: id.RespH, RespP: id.RespP,
		Src: id.OrigH, Dst: id.RespH, P: id.RespP}
	n.TS.Time, n.UID = ts, uid
	return n
}

// serverNotice starts a notice about a server port, first seen on
// connection uid.
func serverNotice(note string, ts time.Time, uid string, id manifest.ConnID) *Notice {
	n := connNotice(note, ts, uid, id)
	n.Log = "flows"
	n.Sub = fmt.Sprintf("port %d", id.RespP)
	return n
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// countReaches reports whether n events, at the times at(i) in order,
// include limit of them within a window of w.
func countReaches(n int, at func(i int) time.Time, limit int, w time.Duration) bool {
	for i, j := 0, 0; i < n; i++ {
		for at(i).Sub(at(j)) > w {
			j++
		}
		if i-j+1 >= limit {
			return true
		}
	}
	return false
}

// distinctReaches reports whether the attempts (in time order) include
// limit distinct values of key within a window of w.
func distinctReaches(list []*connAttempt, key func(*connAttempt) string, limit int, w time.Duration) bool {
	counts := map[string]int{}
	distinct := 0
	for i, j := 0, 0; i < len(list); i++ {
		k := key(list[i])
		if counts[k] == 0 {
			distinct++
		}
		counts[k]++
		for time.Duration(list[i].ts-list[j].ts) > w {
			kj := key(list[j])
			counts[kj]--
			if counts[kj] == 0 {
				distinct--
			}
			j++
		}
		if distinct >= limit {
			return true
		}
	}
	return false
}
