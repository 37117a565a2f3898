// Command ferretdb-dev runs FerretDB v1 (SQLite backend) embedded in one small
// binary, so machines without MongoDB or Docker still get a server that speaks
// the real MongoDB wire protocol for local runs and tests.
//
// FerretDB's own cmd/ferretdb cannot be built with `go install` (it panics on a
// missing version file), which is why the embeddable package is used instead.
//
// Once listening it prints one line to stdout: `ready <mongodb-uri>`, so a
// parent process started with -listen 127.0.0.1:0 learns the port it got.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
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

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		fatal("cannot start FerretDB: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()

	fmt.Printf("ready %s\n", f.MongoDBURI())
	<-done
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferretdb-dev: "+format+"\n", args...)
	os.Exit(1)
}
