package main

import (
	"context"
	"log"
	"net/http"
)

func main() {
	app, err := NewApp(context.Background(), "shop.localhost")
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	log.Println("listening on http://www.shop.localhost:8090")
	log.Fatal(http.ListenAndServe("127.0.0.1:8090", app.Handler()))
}
