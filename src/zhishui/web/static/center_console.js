/* The agent console (/center) and the expert queue (/center/experts).
 *
 * Pages are rendered by the server; this script sends actions to the JSON API (/api/v1/center/...,
 * with the CSRF header the page carries), shows the API's Chinese message, and reloads the parts the
 * action changed. It follows the server-sent events of /center/events: a new request or message
 * reloads the inbox (and the open conversation when it is the one that changed); a ringing call at
 * the agent's extension ("call_pop") opens the caller's request. The knowledge panel searches as the
 * agent types; "插入答案" and the canned replies fill the reply box.
 */
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (err) { return ""; }
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function flash(text, isError) {
    var el = $("[data-flash]");
    if (!el) { return; }
    el.textContent = text;
    el.hidden = !text;
    el.classList.toggle("error", !!isError);
  }

  function setLive(on) {
    document.body.setAttribute("data-live-state", on ? "on" : "off");
    var el = $("[data-live-status]");
    if (el) {
      el.textContent = on ? "实时更新中" : "连接中断，正在重连…";
      el.classList.toggle("off", !on);
    }
  }

  /* Call the JSON API; resolves with {ok, status, data}. */
  function api(url, method, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    }).catch(function () {
      return { ok: false, status: 0, data: { message: "网络连接失败，请检查网络后重试" } };
    });
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }

  /* Put every top-level element of `html` in place of the element with the same id. What the agent
   * is in the middle of (the reply being typed, an open slot picker: elements marked data-keep) moves
   * over into the new part, so a live update never wipes it. */
  function replaceParts(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    Array.prototype.slice.call(holder.content.children).forEach(function (el) {
      var old = el.id ? document.getElementById(el.id) : null;
      if (!old) { return; }
      var kept = {};
      Array.prototype.forEach.call(old.querySelectorAll("[data-keep][id]"), function (k) {
        if (inUse(k)) { kept[k.id] = k; }
      });
      old.replaceWith(el);
      Array.prototype.forEach.call(el.querySelectorAll("[data-keep][id]"), function (n) {
        if (kept[n.id]) { n.replaceWith(kept[n.id]); }
      });
      if (window.htmx) { window.htmx.process(el); }
    });
  }

  function inUse(el) {
    return el.tagName === "TEXTAREA" || el.tagName === "INPUT" ? !!el.value : !!el.innerHTML.trim();
  }

  function loadParts(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (response.redirected || response.status === 401) { window.location.reload(); return null; }
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          flash(data.message || "加载失败，请刷新页面", true);
          return null;
        });
      }
      return response.text();
    }).then(function (html) { if (html) { replaceParts(html); } return html; });
  }

  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled) { return; }
      if ((field.type === "radio" || field.type === "checkbox") && !field.checked) { return; }
      var value = field.value;
      body[field.name] = field.hasAttribute("data-int") ? parseInt(value, 10) : value;
    });
    return body;
  }

  function insertReply(text) {
    var box = $("[data-reply-box]");
    if (!box) { flash("请先打开并认领一个会话", true); return; }
    box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n" + text : text;
    box.focus();
  }

  // --- the console ---------------------------------------------------------------------------------

  function console_(root) {
    var inboxView = function () { var el = $("#inbox"); return el ? el.getAttribute("data-inbox-view") : "open"; };
    var inboxChannel = function () { var el = $("#inbox"); return el ? el.getAttribute("data-inbox-channel") : ""; };
    var openId = function () { return root.getAttribute("data-open-id") || ""; };

    function reloadInbox(view) {
      var url = "/center/inbox?view=" + encodeURIComponent(view || inboxView());
      if (inboxChannel()) { url += "&channel=" + encodeURIComponent(inboxChannel()); }
      return loadParts(url);
    }
    function reloadConversation() {
      return openId() ? loadParts("/center/requests/" + openId()) : Promise.resolve(null);
    }
    function open(id) {
      root.setAttribute("data-open-id", String(id));
      flash("");
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "/center?request=" + id + "&view=" + inboxView());
      }
      return reloadConversation();
    }
    var laterInbox = debounce(reloadInbox, 300);
    var laterConversation = debounce(reloadConversation, 300);

    function after(result) {
      if (result.ok) {
        flash(result.data.message || "已完成");
        reloadConversation();
        reloadInbox();
      } else {
        flash(result.data.message || "操作失败，请重试", true);
      }
    }

    document.addEventListener("click", function (event) {
      var target = event.target.closest("[data-open],[data-view],button[data-api],[data-insert],[data-booking-open]");
      if (!target) { return; }
      if (target.hasAttribute("data-open")) {
        event.preventDefault();
        open(target.getAttribute("data-open"));
      } else if (target.hasAttribute("data-view")) {
        event.preventDefault();
        reloadInbox(target.getAttribute("data-view"));
      } else if (target.hasAttribute("data-api")) {
        var body = JSON.parse(target.getAttribute("data-body") || "{}");
        target.disabled = true;
        api(target.getAttribute("data-api"), "POST", body).then(function (r) {
          target.disabled = false;
          after(r);
          if (r.ok && r.data.request_id && target.hasAttribute("data-open-result")) { open(r.data.request_id); }
        });
      } else if (target.hasAttribute("data-insert")) {
        insertReply(target.getAttribute("data-insert"));
      } else if (target.hasAttribute("data-booking-open")) {
        loadParts(target.getAttribute("data-booking-open"));
      }
    });

    document.addEventListener("submit", function (event) {
      var form = event.target.closest("form[data-api]");
      if (!form) { return; }
      event.preventDefault();
      var button = form.querySelector("[type=submit]");
      if (button) { button.disabled = true; }
      api(form.getAttribute("data-api"), "POST", formBody(form)).then(function (r) {
        if (button) { button.disabled = false; }
        if (r.ok) { form.reset(); }
        after(r);
      });
    });

    var presence = $("[data-presence]");
    if (presence) {
      presence.addEventListener("change", function () {
        api("/api/v1/center/presence", "PUT", { presence: presence.value }).then(function (r) {
          flash(r.ok ? "状态已切换为" + r.data.presence_label : (r.data.message || "切换失败"), !r.ok);
          if (r.ok) { reloadInbox(); }
        });
      });
    }

    knowledge();
    canned();

    var first = true;
    var handlers = {
      hello: function () { if (!first) { reloadInbox(); reloadConversation(); } first = false; },
      call_pop: function (data) {
        if (data.request_id) { open(data.request_id); flash("来电：已打开来电人的记录"); }
        laterInbox();
      }
    };
    ["message", "assigned", "transferred", "reply", "note", "resolved", "consultation", "expert_answer",
     "call", "call_answered", "call_ended", "identity", "presence"].forEach(function (name) {
      handlers[name] = function (data) {
        laterInbox();
        if (name === "identity" || (data.request_id && String(data.request_id) === openId())) { laterConversation(); }
      };
    });
    follow(root.getAttribute("data-events"), handlers);
  }

  // --- the knowledge panel and canned replies ------------------------------------------------------

  function knowledge() {
    var input = $("[data-knowledge-q]");
    var list = $("[data-knowledge-hits]");
    if (!input || !list) { return; }
    var asked = 0;
    var search = debounce(function () {
      var q = input.value.trim();
      var mine = ++asked;
      if (!q) { list.innerHTML = ""; return; }
      getJson("/api/v1/center/knowledge/search?q=" + encodeURIComponent(q) + "&limit=8").then(function (hits) {
        if (mine !== asked) { return; }
        list.innerHTML = "";
        if (!hits.length) { list.innerHTML = "<li class=\"muted\">没有找到相关答案</li>"; return; }
        hits.forEach(function (hit) {
          var li = document.createElement("li");
          li.className = "hit";
          var title = document.createElement("b");
          title.textContent = hit.title;
          var snippet = document.createElement("p");
          snippet.textContent = hit.snippet;
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = "插入答案";
          button.addEventListener("click", function () { insertReply(hit.answer); });
          li.appendChild(title);
          li.appendChild(snippet);
          li.appendChild(button);
          list.appendChild(li);
        });
      }).catch(function () {
        if (mine === asked) { list.innerHTML = "<li class=\"muted\">知识库暂不可用</li>"; }
      });
    }, 250);
    input.addEventListener("input", search);
  }

  function canned() {
    function load(details) {
      var input = $("[data-canned-q]", details);
      var list = $("[data-canned-list]", details);
      getJson("/api/v1/center/replies?limit=20&q=" + encodeURIComponent(input ? input.value.trim() : "")).then(function (replies) {
        list.innerHTML = "";
        if (!replies.length) { list.innerHTML = "<li class=\"muted\">没有常用回复</li>"; return; }
        replies.forEach(function (reply) {
          var li = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "link";
          button.textContent = reply.title;
          button.title = reply.body;
          button.addEventListener("click", function () { insertReply(reply.body); details.open = false; });
          li.appendChild(button);
          list.appendChild(li);
        });
      }).catch(function () { list.innerHTML = "<li class=\"muted\">常用回复暂不可用</li>"; });
    }
    document.addEventListener("toggle", function (event) {
      var details = event.target;
      if (details.matches && details.matches("[data-canned]") && details.open) { load(details); }
    }, true);
    document.addEventListener("input", debounce(function (event) {
      var details = event.target.closest && event.target.closest("[data-canned]");
      if (details && event.target.matches("[data-canned-q]")) { load(details); }
    }, 250));
  }

  // --- the expert queue ----------------------------------------------------------------------------

  function experts(root) {
    var reload = debounce(function () { loadParts(root.getAttribute("data-snapshot")); }, 300);
    function after(result) {
      flash(result.ok ? "已提交" : (result.data.message || "操作失败，请重试"), !result.ok);
      reload();
    }
    document.addEventListener("click", function (event) {
      var target = event.target.closest("button[data-api]");
      if (!target) { return; }
      api(target.getAttribute("data-api"), "POST", {}).then(after);
    });
    document.addEventListener("submit", function (event) {
      var form = event.target.closest("form[data-api]");
      if (!form) { return; }
      event.preventDefault();
      api(form.getAttribute("data-api"), "POST", formBody(form)).then(after);
    });
    var first = true;
    follow(root.getAttribute("data-events"), {
      hello: function () { if (!first) { reload(); } first = false; },
      consultation: reload,
      claimed: reload,
      expert_answer: reload
    });
  }

  // --- the stream ----------------------------------------------------------------------------------

  function follow(url, handlers) {
    var source = null;
    var failures = 0;
    function connect() {
      source = new EventSource(url);
      source.onopen = function () { failures = 0; setLive(true); };
      source.onerror = function () {
        setLive(false);
        if (source.readyState === EventSource.CLOSED) {
          source.close();
          failures += 1;
          setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5))) + Math.random() * 1000);
        }
      };
      Object.keys(handlers).forEach(function (name) {
        source.addEventListener(name, function (event) {
          document.body.setAttribute("data-live-ready", "1");
          var data = {};
          try { data = JSON.parse(event.data); } catch (err) { data = {}; }
          handlers[name](data);
        });
      });
    }
    connect();
  }

  function start() {
    var root = $("[data-center-console]");
    if (root) { console_(root); }
    var page = $("[data-expert-page]");
    if (page) { experts(page); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
