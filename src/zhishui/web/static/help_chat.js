// The help chat window: polls the visitor's conversation every few seconds and posts messages with
// a key of the page's own, so a double click or a resend after a network error is stored once.
(function () {
  "use strict";
  const root = document.getElementById("help-chat");
  if (!root) return;
  const endpoint = root.dataset.endpoint;
  const log = document.getElementById("chat-log");
  const empty = document.getElementById("chat-empty");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-text");
  const rating = document.getElementById("chat-rating");
  const error = document.getElementById("chat-error");
  const POLL_MS = 4000;
  let after = 0;
  let pending = null; // {text, key} of a message not yet accepted: resent with the same key

  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (e) {
      return "";
    }
  }

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function show(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  function add(message) {
    if (empty) empty.remove();
    const item = document.createElement("li");
    item.className = message.from === "me" ? "me" : "center";
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = message.text; // text, never HTML
    const time = document.createElement("time");
    time.textContent = (message.from === "me" ? "我 " : "智税中心 ") + message.at;
    item.append(bubble, time);
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  async function poll() {
    try {
      const response = await fetch(endpoint + "?after=" + after, { credentials: "same-origin" });
      if (response.ok) {
        const body = await response.json();
        for (const message of body.messages) {
          add(message);
          after = Math.max(after, message.id);
        }
        rating.hidden = !body.rating_open;
      }
    } catch (e) {
      /* offline for a moment: the next poll catches up */
    }
  }

  async function send(text, key) {
    pending = { text, key };
    const response = await fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ text, key }),
    });
    if (!response.ok) {
      let message = "发送失败，请稍后重试";
      try {
        message = (await response.json()).message || message;
      } catch (e) { /* keep the default */ }
      throw new Error(message);
    }
    pending = null;
    show("");
    await poll();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const key = pending && pending.text === text ? pending.key : newKey();
    form.querySelector("button").disabled = true;
    try {
      await send(text, key);
      input.value = "";
    } catch (e) {
      show(e.message);
    } finally {
      form.querySelector("button").disabled = false;
    }
  });

  rating.addEventListener("click", async (event) => {
    const score = event.target.dataset && event.target.dataset.score;
    if (!score) return;
    try {
      await send(score, newKey());
      rating.hidden = true;
    } catch (e) {
      show(e.message);
    }
  });

  poll();
  setInterval(poll, POLL_MS);
})();
