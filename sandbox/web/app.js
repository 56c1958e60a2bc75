// The try-it web chat: plays simulated users against the sandbox Bot API (no build, no CDN).
"use strict";

const state = {
  users: [],
  current: null, // user id
  chat: null, // the last chat view fetched
  replyTo: null, // {id, preview}
  seen: {}, // user id -> revision seen
  recorder: null,
};

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (!response.ok) {
    throw new Error((await response.text()) || response.statusText);
  }
  return response.json();
}

function postJson(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// -- text with Telegram entities (offsets are UTF-16, like JavaScript strings) --------------

function renderText(text, entities) {
  const fragment = document.createDocumentFragment();
  if (!text) return fragment;
  const covering = [];
  for (let i = 0; i <= text.length; i++) covering.push([]);
  (entities || []).forEach((entity, index) => {
    for (let i = entity.offset; i < entity.offset + entity.length && i < text.length; i++) {
      covering[i].push(index);
    }
  });
  let start = 0;
  while (start < text.length) {
    let end = start + 1;
    const key = covering[start].join(",");
    while (end < text.length && covering[end].join(",") === key) end++;
    let node = document.createTextNode(text.slice(start, end));
    for (const index of covering[start]) node = wrap(node, entities[index], text);
    fragment.appendChild(node);
    start = end;
  }
  return fragment;
}

function wrap(node, entity, text) {
  const tags = {
    bold: "strong", italic: "em", underline: "u", strikethrough: "s", code: "code",
    pre: "pre", spoiler: "span", blockquote: "blockquote", expandable_blockquote: "blockquote",
  };
  let element;
  if (entity.type === "text_link" || entity.type === "url") {
    element = document.createElement("a");
    element.href = entity.url || text.substr(entity.offset, entity.length);
    element.target = "_blank";
    element.rel = "noopener noreferrer";
  } else if (tags[entity.type]) {
    element = document.createElement(tags[entity.type]);
    if (entity.type === "spoiler") element.className = "spoiler";
  } else {
    return node;
  }
  element.appendChild(node);
  return element;
}

// -- users ---------------------------------------------------------------------------------

function initials(name) {
  return (name || "?").trim().slice(0, 1).toUpperCase();
}

function avatarColor(id) {
  const colors = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];
  return colors[id % colors.length];
}

function renderUsers() {
  const list = $("users");
  list.replaceChildren();
  for (const user of state.users) {
    const item = document.createElement("li");
    item.className = "user" + (user.id === state.current ? " active" : "");
    item.dataset.userId = user.id;
    item.tabIndex = 0;
    const avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.style.background = avatarColor(user.id);
    avatar.textContent = initials(user.first_name);
    const text = document.createElement("div");
    text.className = "who";
    const name = document.createElement("strong");
    name.textContent = user.first_name;
    if (user.label) {
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = user.label;
      name.append(" ", label);
    }
    const preview = document.createElement("small");
    preview.textContent = user.preview || "No messages yet";
    text.append(name, preview);
    item.append(avatar, text);
    if (user.id !== state.current && (state.seen[user.id] || 0) < user.revision && user.preview) {
      const dot = document.createElement("span");
      dot.className = "unread";
      dot.setAttribute("aria-label", "new messages");
      item.appendChild(dot);
    }
    item.addEventListener("click", () => selectUser(user.id));
    item.addEventListener("keydown", (e) => { if (e.key === "Enter") selectUser(user.id); });
    list.appendChild(item);
  }
}

async function loadUsers() {
  const data = await api("/chat/api/users");
  $("bot-name").textContent = data.bot.first_name;
  state.users = data.users;
  renderUsers();
}

async function selectUser(id) {
  state.current = id;
  state.replyTo = null;
  $("app").classList.remove("show-list");
  $("command-menu").hidden = true;
  history.replaceState(null, "", "#user-" + id);
  await loadChat(true);
  renderUsers();
  $("text").focus();
}

async function addUser() {
  const name = prompt("First name of the new user?", "Chloé");
  if (name === null) return;
  const user = await postJson("/chat/api/users", { first_name: name });
  await loadUsers();
  await selectUser(user.id);
}

// -- the conversation ----------------------------------------------------------------------

async function loadChat(scroll) {
  if (state.current === null) return;
  const chat = await api("/chat/api/chats/" + state.current);
  if (chat.user.id !== state.current) return;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  state.chat = chat;
  state.seen[chat.user.id] = chat.user.revision;
  renderHeader(chat.user);
  renderMessages(chat.messages);
  renderReplyKeyboard(chat.reply_keyboard);
  renderCommands(chat.commands);
  if (chat.force_reply && (!state.replyTo || state.replyTo.id !== chat.force_reply.message_id)) {
    const target = chat.messages.find((m) => m.id === chat.force_reply.message_id);
    setReplyTo(target, chat.force_reply.placeholder);
  }
  if (scroll || atBottom) box.scrollTop = box.scrollHeight;
}

function renderHeader(user) {
  $("chat-name").textContent = user.first_name;
  $("chat-label").textContent = (user.label ? user.label + " · " : "") + "chatting with the bot";
  const avatar = $("chat-avatar");
  avatar.textContent = initials(user.first_name);
  avatar.style.background = avatarColor(user.id);
}

function renderMessages(messages) {
  const box = $("messages");
  box.replaceChildren();
  if (!messages.length) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No messages yet. Send /start to begin.";
    box.appendChild(empty);
  }
  for (const message of messages) box.appendChild(renderMessage(message));
}

function renderMessage(message) {
  const row = document.createElement("div");
  row.className = "msg " + message.from + (message.kind !== "text" ? " " + message.kind : "");
  row.dataset.id = message.id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (message.reply_to) {
    const quote = document.createElement("div");
    quote.className = "quote";
    quote.textContent = message.reply_to.preview || "Message";
    bubble.appendChild(quote);
  }
  const fileUrl = message.file_id ? "/chat/api/files/" + encodeURIComponent(message.file_id) : null;
  if (message.kind === "photo") {
    const img = document.createElement("img");
    img.src = fileUrl;
    img.alt = message.text || "Photo";
    img.loading = "lazy";
    bubble.appendChild(img);
  } else if (message.kind === "voice" || message.kind === "audio") {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = fileUrl;
    bubble.appendChild(audio);
    if (message.kind === "audio" && message.file_name) {
      const name = document.createElement("small");
      name.textContent = message.file_name;
      bubble.appendChild(name);
    }
  } else if (message.kind === "document") {
    const link = document.createElement("a");
    link.className = "document";
    link.href = fileUrl;
    link.download = message.file_name || "file";
    link.textContent = "📄 " + (message.file_name || "File") + sizeText(message.file_size);
    bubble.appendChild(link);
  }
  if (message.kind === "invoice" || message.kind === "payment") renderPayment(message, bubble);
  if (message.text) {
    const text = document.createElement("div");
    text.className = "text";
    text.appendChild(renderText(message.text, message.entities));
    bubble.appendChild(text);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = (message.edited ? "edited " : "") + timeText(message.date);
  bubble.appendChild(meta);
  const reply = document.createElement("button");
  reply.type = "button";
  reply.className = "reply-action";
  reply.title = "Reply";
  reply.setAttribute("aria-label", "Reply to this message");
  reply.textContent = "↩";
  reply.addEventListener("click", () => setReplyTo(message));
  row.append(bubble, reply);
  if (message.inline_keyboard) row.appendChild(renderInlineKeyboard(message));
  return row;
}

function amountText(total, currency) {
  return (total / 100).toFixed(2) + " " + currency;
}

// An invoice (title, description, total, Pay) or the user's payment; Pay uses a test card.
function renderPayment(message, bubble) {
  const box = document.createElement("div");
  box.className = "invoice";
  const paid = message.payment;
  if (paid) {
    box.textContent = "✅ Paid " + amountText(paid.total_amount, paid.currency);
    bubble.appendChild(box);
    return;
  }
  const invoice = message.invoice;
  const title = document.createElement("strong");
  title.textContent = invoice.title;
  const description = document.createElement("div");
  description.textContent = invoice.description;
  const pay = document.createElement("button");
  pay.type = "button";
  pay.className = "inline-btn pay";
  pay.textContent = "Pay " + amountText(invoice.total_amount, invoice.currency);
  pay.addEventListener("click", async () => {
    pay.disabled = true;
    try {
      const result = await postJson("/chat/api/chats/" + state.current + "/pay", {
        message_id: message.id,
      });
      if (!result.paid) showAlert(result.error_message || "Payment failed");
    } catch (error) {
      showToast(String(error.message || error));
    } finally {
      pay.disabled = false;
    }
  });
  box.append(title, description, pay);
  bubble.appendChild(box);
}

function renderInlineKeyboard(message) {
  const keyboard = document.createElement("div");
  keyboard.className = "inline-keyboard";
  for (const buttons of message.inline_keyboard) {
    const row = document.createElement("div");
    row.className = "row";
    for (const button of buttons) {
      const element = document.createElement(button.url ? "a" : "button");
      element.className = "inline-btn";
      element.textContent = button.text;
      if (button.url) {
        element.href = button.url;
        element.target = "_blank";
        element.rel = "noopener noreferrer";
      } else {
        element.type = "button";
        element.addEventListener("click", () => press(message.id, button.callback_data, element));
      }
      row.appendChild(element);
    }
    keyboard.appendChild(row);
  }
  return keyboard;
}

async function press(messageId, data, element) {
  if (data === undefined) return;
  element.classList.add("pressed");
  try {
    const result = await postJson("/chat/api/chats/" + state.current + "/press", {
      message_id: messageId,
      data: data,
    });
    const answer = result.answer;
    if (answer && answer.text) {
      if (answer.show_alert) showAlert(answer.text);
      else showToast(answer.text);
    }
    if (answer && answer.url) window.open(answer.url, "_blank", "noopener");
  } catch (error) {
    showToast(String(error.message || error));
  } finally {
    element.classList.remove("pressed");
  }
}

function renderReplyKeyboard(keyboard) {
  const box = $("reply-keyboard");
  box.replaceChildren();
  box.hidden = !keyboard;
  $("text").placeholder = (keyboard && keyboard.placeholder) || "Message";
  if (!keyboard) return;
  for (const buttons of keyboard.rows) {
    const row = document.createElement("div");
    row.className = "row";
    for (const label of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "keyboard-btn";
      button.textContent = label;
      button.addEventListener("click", () => sendText(label));
      row.appendChild(button);
    }
    box.appendChild(row);
  }
}

function renderCommands(commands) {
  const menu = $("command-menu");
  menu.replaceChildren();
  $("menu-button").hidden = !commands.length;
  for (const command of commands) {
    const item = document.createElement("button");
    item.type = "button";
    item.className = "command";
    const name = document.createElement("strong");
    name.textContent = "/" + command.command;
    const description = document.createElement("span");
    description.textContent = command.description;
    item.append(name, description);
    item.addEventListener("click", () => {
      menu.hidden = true;
      sendText("/" + command.command);
    });
    menu.appendChild(item);
  }
}

function setReplyTo(message, placeholder) {
  if (!message) return;
  state.replyTo = { id: message.id };
  $("reply-preview").textContent = message.text || message.kind;
  $("reply-bar").hidden = false;
  if (placeholder) $("text").placeholder = placeholder;
  $("text").focus();
}

function clearReply() {
  state.replyTo = null;
  $("reply-bar").hidden = true;
}

// -- sending -------------------------------------------------------------------------------

async function sendText(text) {
  if (!text.trim() || state.current === null) return;
  const body = { text: text };
  if (state.replyTo) body.reply_to = state.replyTo.id;
  clearReply();
  try {
    await postJson("/chat/api/chats/" + state.current + "/messages", body);
  } catch (error) {
    showToast(String(error.message || error));
  }
  await loadChat(true);
}

async function upload(blob, fileName, kind) {
  if (state.current === null) return;
  const form = new FormData();
  form.append("file", blob, fileName);
  form.append("as", kind);
  if (state.replyTo) form.append("reply_to", String(state.replyTo.id));
  const caption = $("text").value.trim();
  if (caption && kind !== "voice") {
    form.append("caption", caption);
    $("text").value = "";
  }
  clearReply();
  try {
    await api("/chat/api/chats/" + state.current + "/files", { method: "POST", body: form });
  } catch (error) {
    showToast(String(error.message || error));
  }
  await loadChat(true);
}

async function toggleRecording() {
  const button = $("record");
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    showAlert("This browser cannot record here (a microphone needs https or localhost).");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    showAlert("No microphone: " + (error.message || error));
    return;
  }
  const preferred = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm"];
  const mimeType = preferred.find((t) => MediaRecorder.isTypeSupported(t)) || "";
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  const chunks = [];
  recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  recorder.onstop = () => {
    stream.getTracks().forEach((t) => t.stop());
    state.recorder = null;
    button.classList.remove("recording");
    button.textContent = "🎤";
    const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
    if (blob.size) upload(blob, blob.type.includes("ogg") ? "voice.ogg" : "voice.webm", "voice");
  };
  state.recorder = recorder;
  recorder.start();
  button.classList.add("recording");
  button.textContent = "■";
  showToast("Recording… tap ■ to send");
}

// -- toasts and alerts ---------------------------------------------------------------------

let toastTimer = null;

function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 3500);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
  $("alert-ok").focus();
}

function timeText(seconds) {
  if (!seconds) return "";
  const date = new Date(seconds * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function sizeText(bytes) {
  if (!bytes) return "";
  if (bytes < 1024) return " · " + bytes + " B";
  if (bytes < 1024 * 1024) return " · " + Math.round(bytes / 1024) + " KB";
  return " · " + (bytes / 1024 / 1024).toFixed(1) + " MB";
}

// -- live updates --------------------------------------------------------------------------

let refreshQueued = false;
let refreshChats = new Set(); // chats changed since the refresh was queued; null: every chat

function refreshSoon(chats) {
  // Changes that arrive while a refresh is queued join it (a chat's change is never dropped).
  if (!chats || refreshChats === null) refreshChats = null;
  else chats.forEach((id) => refreshChats.add(id));
  if (refreshQueued) return;
  refreshQueued = true;
  setTimeout(async () => {
    const changed = refreshChats;
    refreshQueued = false;
    refreshChats = new Set();
    try {
      await loadUsers();
      if (state.current !== null && (changed === null || changed.has(state.current))) {
        await loadChat(false);
      }
    } catch (error) {
      console.warn(error);
    }
  }, 50);
}

function listen() {
  const events = new EventSource("/chat/api/events");
  events.addEventListener("changed", (e) => refreshSoon(JSON.parse(e.data).chats));
  events.addEventListener("hello", () => refreshSoon(null));
}

// -- wiring --------------------------------------------------------------------------------

function wire() {
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value;
    $("text").value = "";
    sendText(text);
  });
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("menu-button").addEventListener("click", () => {
    $("command-menu").hidden = !$("command-menu").hidden;
  });
  $("attach").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", () => {
    const file = $("file-input").files[0];
    $("file-input").value = "";
    if (!file) return;
    const isPhoto = /^image\/(jpeg|png|webp)$/.test(file.type);
    upload(file, file.name, isPhoto ? "photo" : "document");
  });
  $("record").addEventListener("click", toggleRecording);
  $("reply-cancel").addEventListener("click", clearReply);
  $("add-user").addEventListener("click", addUser);
  $("back").addEventListener("click", () => $("app").classList.add("show-list"));
  $("alert-ok").addEventListener("click", () => { $("alert").hidden = true; });
}

async function main() {
  wire();
  await loadUsers();
  const fromHash = /^#user-(\d+)$/.exec(location.hash);
  const wanted = fromHash ? Number(fromHash[1]) : null;
  if (wanted !== null && state.users.some((u) => u.id === wanted)) await selectUser(wanted);
  else if (state.users.length && window.innerWidth > 720) await selectUser(state.users[0].id);
  listen();
}

main();
