//go:build integration

package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// chromium is Debian's package binary, installed by .ci/run.
const chromium = "/usr/bin/chromium"

// cdp is a minimal Chrome DevTools protocol client over one websocket,
// using flattened sessions so one connection drives the page.
type cdp struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpMessage
	events  chan cdpMessage
}

type cdpMessage struct {
	ID     int             `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
}

func (c *cdp) read(ctx context.Context) {
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			close(c.events)
			return
		}
		var m cdpMessage
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.waiting[m.ID]
			delete(c.waiting, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case c.events <- m:
		default: // a slow test loses events rather than blocking reads
		}
	}
}

func (c *cdp) call(ctx context.Context, session, method string, params any, result any) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpMessage, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("cdp %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("cdp %s: %s", method, m.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cdp %s: %w", method, ctx.Err())
	}
}

// startChromium runs headless Chromium and connects to its DevTools socket.
func startChromium(t *testing.T, ctx context.Context) *cdp {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s: %v (apt-get install chromium)", chromium, err)
	}
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "about:blank")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Chromium writes the port it chose and the browser's socket path here.
	var lines []string
	deadline := time.Now().Add(30 * time.Second)
	for len(lines) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("chromium wrote no DevToolsActivePort within 30s; stderr:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err != nil {
			continue
		}
		lines = nil
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				lines = append(lines, l)
			}
		}
	}
	conn, _, err := websocket.Dial(ctx, "ws://127.0.0.1:"+lines[0]+lines[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(256 << 20) // screenshots arrive as one base64 message
	c := &cdp{conn: conn, waiting: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 4096)}
	go c.read(ctx)
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	return c
}

func TestReportInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := buildFixture(t, Budget{FLOPs: 6e11})
	for _, g := range d.Groups {
		// A long model name, as a GGUF path gives: titles must still fit.
		g.Model = "qwen2.5-math-7b-instruct-q4_k_m-" + g.Model + ".gguf"
	}
	page := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.HTML(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	c := startChromium(t, ctx)
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatal(err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	s := attached.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if err := c.call(ctx, s, m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	const width, height = 1280, 2400
	if err := c.call(ctx, s, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.call(ctx, s, "Page.navigate", map[string]any{"url": "file://" + page}, nil); err != nil {
		t.Fatal(err)
	}

	var problems []string
	collect := func(m cdpMessage) {
		switch m.Method {
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string            `json:"type"`
				Args []json.RawMessage `json:"args"`
			}
			json.Unmarshal(m.Params, &p)
			if p.Type == "error" || p.Type == "assert" {
				problems = append(problems, "console."+p.Type+": "+string(m.Params))
			}
		case "Runtime.exceptionThrown":
			problems = append(problems, "exception: "+string(m.Params))
		case "Log.entryAdded":
			var p struct {
				Entry struct {
					Level, Text, URL string
				} `json:"entry"`
			}
			json.Unmarshal(m.Params, &p)
			if p.Entry.Level == "error" {
				problems = append(problems, "log: "+p.Entry.Text+" "+p.Entry.URL)
			}
		}
	}
	loaded := false
	for !loaded {
		select {
		case m, ok := <-c.events:
			if !ok {
				t.Fatal("devtools connection closed before the page loaded")
			}
			collect(m)
			loaded = m.Method == "Page.loadEventFired"
		case <-ctx.Done():
			t.Fatal("page did not load")
		}
	}

	eval := func(expr string, out any) {
		t.Helper()
		var r struct {
			Result struct {
				Value json.RawMessage `json:"value"`
			} `json:"result"`
			ExceptionDetails json.RawMessage `json:"exceptionDetails"`
		}
		if err := c.call(ctx, s, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
			t.Fatal(err)
		}
		if r.ExceptionDetails != nil {
			t.Fatalf("%s threw: %s", expr, r.ExceptionDetails)
		}
		if err := json.Unmarshal(r.Result.Value, out); err != nil {
			t.Fatalf("%s: %v (%s)", expr, err, r.Result.Value)
		}
	}
	// The page's script works: sorting by accuracy puts the best run first
	// on a second click (descending), and expanding opens every question.
	var best string
	eval(`(function(){var th=document.querySelectorAll("#runs th")[5]; th.click(); th.click();
		return document.querySelector("#runs tbody tr").cells[2].textContent})()`, &best)
	if best != "self-consistency" && best != "beam-search" {
		t.Errorf("after sorting by accuracy the top row is %q", best)
	}
	var opened int
	eval(`(function(){document.querySelector("button.expand").click();
		return document.querySelectorAll("section.group details[open]").length})()`, &opened)
	if opened == 0 {
		t.Error("expand all opened nothing")
	}
	eval(`(function(){document.querySelectorAll("button.collapse").forEach(function(b){b.click()}); window.scrollTo(0,0); return 0})()`, new(int))

	// Let late console messages arrive.
	drain := time.After(500 * time.Millisecond)
	for done := false; !done; {
		select {
		case m, ok := <-c.events:
			if !ok {
				done = true
				break
			}
			collect(m)
		case <-drain:
			done = true
		}
	}
	if len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}

	// No text runs past its plot's edges (titles used to be clipped on
	// the right) and no two budget labels overlap.
	var clipped, overlaps []string
	eval(`(function(){var out=[];document.querySelectorAll("svg.plot").forEach(function(svg,i){var s=svg.getBoundingClientRect();
		svg.querySelectorAll("text").forEach(function(t){var b=t.getBoundingClientRect();
			if(b.left<s.left-0.5||b.top<s.top-0.5||b.right>s.right+0.5||b.bottom>s.bottom+0.5) out.push(i+": "+t.textContent)})});return out})()`, &clipped)
	if len(clipped) > 0 {
		t.Errorf("plot text clipped at the edges: %q", clipped)
	}
	eval(`(function(){var out=[];document.querySelectorAll("svg.plot").forEach(function(svg,i){var ls=Array.from(svg.querySelectorAll("text.budget"));
		ls.forEach(function(a,j){ls.slice(j+1).forEach(function(b){var p=a.getBoundingClientRect(),q=b.getBoundingClientRect();
			if(p.left<q.right-0.5&&q.left<p.right-0.5&&p.top<q.bottom-0.5&&q.top<p.bottom-0.5) out.push(i+": "+a.textContent+" / "+b.textContent)})})});return out})()`, &overlaps)
	if len(overlaps) > 0 {
		t.Errorf("budget labels overlap: %q", overlaps)
	}
	// The search tree draws when its question is opened: five nodes, the
	// winning path's two edges, inside the page's width.
	var tree struct {
		Nodes, Win, Marks int
		Width, Height     float64
	}
	eval(`(function(){var svg=document.querySelector("svg.tree");
		for(var d=svg.closest("details");d;d=d.parentElement.closest("details")) d.open=true;
		var r=svg.getBoundingClientRect();
		return {nodes:svg.querySelectorAll("g.node").length, win:svg.querySelectorAll("line.edge.win").length,
			marks:svg.querySelectorAll("text.mark").length, width:r.width, height:r.height}})()`, &tree)
	if tree.Nodes != 5 || tree.Win != 2 || tree.Marks != 2 || tree.Width < 100 || tree.Height < 50 {
		t.Errorf("search tree in the page: %+v, want 5 nodes, 2 winning edges, 2 marks, drawn", tree)
	}
	eval(`(function(){document.querySelectorAll("details").forEach(function(d){d.open=false}); window.scrollTo(0,0); return 0})()`, new(int))

	var box struct{ X, Y, Width, Height float64 }
	eval(`(function(){var r=document.querySelector("svg.plot").getBoundingClientRect(); return {x:r.x,y:r.y,width:r.width,height:r.height}})()`, &box)
	if box.Width < 200 || box.Height < 100 {
		t.Fatalf("first plot is %vx%v px", box.Width, box.Height)
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := c.call(ctx, s, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("PARETO_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "report.png")
	}
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	area := image.Rect(int(box.X), int(box.Y), int(box.X+box.Width), int(box.Y+box.Height)).Intersect(img.Bounds())
	if area.Empty() {
		t.Fatalf("plot box %+v is outside the %v screenshot", box, img.Bounds())
	}
	var ink, colour int
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			if r < 235 || g < 235 || b < 235 {
				ink++
			}
			if max(r, g, b)-min(r, g, b) > 60 {
				colour++ // series colours, not grey axes or grid
			}
		}
	}
	total := area.Dx() * area.Dy()
	t.Logf("plot %v: %d of %d pixels inked, %d coloured; screenshot in %s", area, ink, total, colour, out)
	if ink < total/100 {
		t.Errorf("plot area looks empty: %d of %d pixels inked", ink, total)
	}
	if colour < 200 {
		t.Errorf("plot shows no data: %d coloured pixels", colour)
	}
}
