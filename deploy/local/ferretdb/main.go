// Command ferretdb runs FerretDB 1.x with its embedded SQLite backend for local development.
//
// It embeds the ferretdb package instead of building cmd/ferretdb, whose plain `go install`
// panics at start-up on the version file that only FerretDB's own release build generates.
//
// FerretDB 1.x applies an update as "query, then replace" without a transaction, so two
// concurrent updates of one document can lose one of them. The platform relies on
// single-document atomicity (version guards, outbox pushes and pulls, leases), which every
// MongoDB-compatible production store gives. So this command puts a small proxy in front:
// clients connect to it, and it lets update and findAndModify commands reach FerretDB one at a
// time. Everything else passes through unchanged and concurrently.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

const (
	opMsg          = 2013
	flagMoreToCome = 1 << 1
	maxMessage     = 48 << 20
)

// serialized are the commands that read and then write a document.
var serialized = map[string]bool{"update": true, "findAndModify": true, "findandmodify": true}

var writeMu sync.Mutex

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data", "data", "directory holding the SQLite databases")
	flag.Parse()

	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		log.Fatalf("ferretdb: create data directory: %v", err)
	}
	socket := filepath.Join(*dataDir, "ferretdb.sock")
	_ = os.Remove(socket)

	// Errors only: FerretDB logs every command it does not implement (such as endSessions,
	// which drivers send on close) as a warning.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dataDir + "/",
	})
	if err != nil {
		log.Fatalf("ferretdb: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	go func() {
		if err := f.Run(ctx); err != nil && ctx.Err() == nil {
			log.Fatalf("ferretdb: %v", err)
		}
	}()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("ferretdb: %v", err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	log.Printf("ferretdb: listening on %s, data in %s", *listen, *dataDir)
	for {
		client, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Printf("ferretdb: accept: %v", err)
			continue
		}
		go relay(client, socket)
	}
}

// relay passes one client's messages to FerretDB and the answers back, in lockstep.
func relay(client net.Conn, socket string) {
	defer client.Close()
	server, err := net.Dial("unix", socket)
	if err != nil {
		log.Printf("ferretdb: backend: %v", err)
		return
	}
	defer server.Close()

	for {
		request, err := readMessage(client)
		if err != nil {
			return
		}
		lock := needsLock(request)
		if lock {
			writeMu.Lock()
		}
		err = exchange(request, client, server)
		if lock {
			writeMu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// exchange forwards a request and every reply it gets (several for exhaust cursors).
func exchange(request []byte, client, server net.Conn) error {
	if _, err := server.Write(request); err != nil {
		return err
	}
	if moreToCome(request) {
		return nil // the client expects no reply
	}
	for {
		reply, err := readMessage(server)
		if err != nil {
			return err
		}
		if _, err := client.Write(reply); err != nil {
			return err
		}
		if !moreToCome(reply) {
			return nil
		}
	}
}

func readMessage(conn net.Conn) ([]byte, error) {
	var header [4]byte
	if _, err := io.ReadFull(conn, header[:]); err != nil {
		return nil, err
	}
	size := int(binary.LittleEndian.Uint32(header[:]))
	if size < 16 || size > maxMessage {
		return nil, errors.New("bad message length")
	}
	message := make([]byte, size)
	copy(message, header[:])
	if _, err := io.ReadFull(conn, message[4:]); err != nil {
		return nil, err
	}
	return message, nil
}

func moreToCome(message []byte) bool {
	return len(message) >= 20 && binary.LittleEndian.Uint32(message[12:16]) == opMsg &&
		binary.LittleEndian.Uint32(message[16:20])&flagMoreToCome != 0
}

// needsLock tells whether an OP_MSG's command is one that reads and then writes.
func needsLock(message []byte) bool {
	if len(message) < 21 || binary.LittleEndian.Uint32(message[12:16]) != opMsg {
		return false
	}
	for i := 20; i < len(message); {
		kind := message[i]
		i++
		if i+4 > len(message) {
			return false
		}
		size := int(binary.LittleEndian.Uint32(message[i : i+4]))
		if kind == 0 {
			// The body: a BSON document whose first element's name is the command.
			name := i + 5
			end := name
			for end < len(message) && message[end] != 0 {
				end++
			}
			return end < len(message) && serialized[string(message[name:end])]
		}
		if size < 4 {
			return false
		}
		i += size
	}
	return false
}
