package main

// FerretDB v1 applies an update by reading the document, changing it in Go and
// writing it back, with nothing holding the row in between. Two connections
// updating one document therefore lose writes: 50 concurrent {$inc: {n: 1}}
// end at n=5, and a conditional update ({_id, v: 0} -> {v: 1}) can succeed
// twice. MongoDB makes every single-document write atomic, and Parley relies on
// that (docs/design.md §8), so this proxy sits in front of FerretDB and lets one
// write at a time through, across all client connections. Reads (find, getMore,
// count, distinct, ...) pass without waiting: each is one SQLite read transaction,
// which sees a consistent snapshot, so a slow scan never holds up the writes.
// Anything not known to be a read takes the lock, aggregate included ($out). It is a dev and test server;
// correctness matters more than throughput here.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

const (
	opMsg         = 2013
	msgMoreToCome = 1 << 1
	maxMessage    = 48_000_000 + 16
	// A request FerretDB never answers must not hold the lock forever.
	replyTimeout = 2 * time.Minute
)

type serializingProxy struct {
	backend string
	logger  *slog.Logger
	mu      sync.Mutex
}

func (p *serializingProxy) serve(l net.Listener) {
	for {
		client, err := l.Accept()
		if err != nil {
			return
		}
		go p.handle(client)
	}
}

func (p *serializingProxy) handle(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.backend)
	if err != nil {
		p.logger.Error("proxy: cannot reach FerretDB", slog.Any("error", err))
		return
	}
	defer server.Close()

	for {
		request, err := readMessage(client)
		if err != nil {
			return
		}
		replies, err := p.roundTrip(server, request)
		if err != nil {
			p.logger.Warn("proxy: dropping connection", slog.Any("error", err))
			return
		}
		for _, reply := range replies {
			if _, err = client.Write(reply); err != nil {
				return
			}
		}
	}
}

// readCommands never change data; everything else is serialized.
var readCommands = map[string]bool{
	"find": true, "getMore": true, "count": true, "distinct": true,
	"listCollections": true, "listIndexes": true, "listDatabases": true,
	"ping": true, "hello": true, "isMaster": true, "ismaster": true, "buildInfo": true,
	"buildinfo": true, "serverStatus": true, "dbStats": true, "collStats": true,
	"explain": true, "killCursors": true, "endSessions": true,
}

// commandName is the first key of an OP_MSG's body section (its command), or "".
func commandName(message []byte) string {
	// header (16) + flagBits (4) + section kind (1) + document length (4) + element type (1)
	const nameAt = 16 + 4 + 1 + 4 + 1
	if len(message) <= nameAt || binary.LittleEndian.Uint32(message[12:16]) != opMsg || message[20] != 0 {
		return ""
	}
	end := bytes.IndexByte(message[nameAt:], 0)
	if end < 0 {
		return ""
	}
	return string(message[nameAt : nameAt+end])
}

// mustSerialize: writes, and anything unknown. An aggregate may write ($out, $merge),
// so it is serialized too.
func mustSerialize(request []byte) bool {
	return !readCommands[commandName(request)]
}

// roundTrip sends one request and reads every reply to it, holding the lock for writes.
func (p *serializingProxy) roundTrip(server net.Conn, request []byte) ([][]byte, error) {
	if mustSerialize(request) {
		p.mu.Lock()
		defer p.mu.Unlock()
	}

	if _, err := server.Write(request); err != nil {
		return nil, err
	}
	if moreToCome(request) {
		return nil, nil // fire-and-forget write: the server sends no reply
	}
	if err := server.SetReadDeadline(time.Now().Add(replyTimeout)); err != nil {
		return nil, err
	}
	var replies [][]byte
	for {
		reply, err := readMessage(server)
		if err != nil {
			return nil, err
		}
		replies = append(replies, reply)
		if !moreToCome(reply) {
			return replies, nil
		}
	}
}

func readMessage(r io.Reader) ([]byte, error) {
	var header [16]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	length := int(int32(binary.LittleEndian.Uint32(header[:4])))
	if length < len(header) || length > maxMessage {
		return nil, fmt.Errorf("bad message length %d", length)
	}
	message := make([]byte, length)
	copy(message, header[:])
	if _, err := io.ReadFull(r, message[len(header):]); err != nil {
		return nil, err
	}
	return message, nil
}

func moreToCome(message []byte) bool {
	opCode := binary.LittleEndian.Uint32(message[12:16])
	return opCode == opMsg && len(message) >= 20 && binary.LittleEndian.Uint32(message[16:20])&msgMoreToCome != 0
}
