// Command ferretdb-dev runs FerretDB v1 (SQLite backend) embedded in one small
// binary, so machines without MongoDB or Docker still get a server that speaks
// the real MongoDB wire protocol for local runs and tests.
//
// FerretDB's own cmd/ferretdb cannot be built with `go install` (it panics on a
// missing version file), which is why the embeddable package is used instead.
//
// By default a small proxy in front of FerretDB serializes requests, because
// FerretDB v1 loses concurrent updates to one document (see serialize.go).
//
// Once listening it prints one line to stdout: `ready <mongodb-uri>`, so a
// parent process started with -listen 127.0.0.1:0 learns the port it got.
//
// With -exit-on-stdin-close it also stops when its stdin closes, which happens
// when the parent (a test runner, tools/start.mjs) dies without a chance to send
// SIGTERM; that keeps orphaned servers from holding ports and temp directories.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (port 0 picks a free port)")
	dataDir := flag.String("data", ".data/ferretdb", "directory for the SQLite databases")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	serialize := flag.Bool("serialize", true, "let one request at a time through, so single-document updates are atomic (see serialize.go)")
	exitOnStdinClose := flag.Bool("exit-on-stdin-close", false, "stop when stdin reaches EOF (parent process gone)")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fatal("bad -log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		fatal("bad -data: %v", err)
	}
	if err = os.MkdirAll(dir, 0o700); err != nil {
		fatal("cannot create data directory: %v", err)
	}

	// With -serialize, clients talk to the proxy on -listen and FerretDB itself
	// listens on a private loopback port.
	var front net.Listener
	ferretListen := *listen
	if *serialize {
		if front, err = net.Listen("tcp", *listen); err != nil {
			fatal("cannot listen on %s: %v", *listen, err)
		}
		ferretListen = "127.0.0.1:0"
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: ferretListen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		fatal("cannot start FerretDB: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if *exitOnStdinClose {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()

	uri := f.MongoDBURI()
	if front != nil {
		backend, parseErr := url.Parse(uri)
		if parseErr != nil {
			fatal("bad FerretDB URI %q: %v", uri, parseErr)
		}
		proxy := &serializingProxy{backend: backend.Host, logger: logger}
		go proxy.serve(front)
		go func() {
			<-ctx.Done()
			_ = front.Close()
		}()
		uri = (&url.URL{Scheme: "mongodb", Host: front.Addr().String(), Path: "/"}).String()
	}

	fmt.Printf("ready %s\n", uri)
	<-done
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferretdb-dev: "+format+"\n", args...)
	os.Exit(1)
}
