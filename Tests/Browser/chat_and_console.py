#!/usr/bin/env python3
"""The real-browser test of the customer chat page and the agent console.

A fresh data folder with one agent account, `kefu serve` on free ports, and two headless
Chromium windows: a customer on a 375x812 phone screen at /chat/ and an agent at 1280x900 at
/agent/. The customer is greeted, asks a question and is answered, asks for a person and sees
the queue; the agent logs in, sees the case in the queue, claims it, sees the packet and
replies; the customer sees the reply live and answers; the agent sees it and resolves; the
customer is asked for a rating and gives 5 stars; a reload shows the same history once.

Every wait is explicit (WebDriverWait). A screenshot is taken at each step into the
artifacts folder. Exits non-zero with the failing step's name; always stops the server and
removes the temporary folder.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

AGENT = "张三"
QUESTION = "新卡怎么激活"
ASK_PERSON = "转人工"
AGENT_REPLY = "您好，我是张三，已经看到您的问题，新卡请在App里激活。"
CUSTOMER_ANSWER = "好的，已经激活了，谢谢"
RESOLVE_NOTE = "已指导激活"
WAIT = 20


class StepFailed(Exception):
    pass


class Server:
    """`kefu serve` on free ports; `http` is HOST:PORT from its `listening http` line."""

    def __init__(self, kefu, kb, data, log_path):
        self.command = [kefu, "serve", "--kb", kb, "--data", data, "--customer-listen", "127.0.0.1:0",
                        "--agent-listen", "127.0.0.1:0"]
        self.log = open(log_path, "ab")
        self.start("127.0.0.1:0")

    def start(self, http):
        self.lines = []
        self.ready = threading.Event()
        self.http = None
        self.process = subprocess.Popen(self.command + ["--http-listen", http],
                                        stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()

    def restart(self):
        """Stops the server and starts it again on the same HTTP port (the pages reconnect)."""
        http = self.http
        self.stop(close_log=False)
        self.start(http)
        self.wait_ready()

    def _read(self):
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            m = re.match(r"listening http (\S+)", line)
            if m:
                self.http = m.group(1)
                self.ready.set()
        self.ready.set()

    def wait_ready(self, seconds=90):
        if not self.ready.wait(seconds) or not self.http:
            try:
                code = "exited with %d" % self.process.wait(2)
            except subprocess.TimeoutExpired:
                code = "still running"
            raise StepFailed("kefu serve did not print `listening http HOST:PORT` within %d s (%s); stdout: %r"
                             % (seconds, code, self.lines[-5:]))
        return "http://" + self.http

    def stop(self, close_log=True):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if close_log and not self.log.closed:
            self.log.close()


def browser(width, height, chromium, chromedriver):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN",
                "--window-size=%d,%d" % (width, height), "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    # The viewport exactly, whatever the window decorations take.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
    return driver


class Test:
    def __init__(self, args):
        self.args = args
        self.shot = 0
        self.artifacts = os.path.abspath(args.artifacts)
        os.makedirs(self.artifacts, exist_ok=True)
        for name in os.listdir(self.artifacts):
            if name.endswith(".png"):
                os.remove(os.path.join(self.artifacts, name))
        self.drivers = {}
        self.step_name = "start"

    def step(self, name):
        self.step_name = name
        print("step: %s" % name, flush=True)

    def screenshot(self, who, name):
        self.shot += 1
        path = os.path.join(self.artifacts, "%02d-%s.png" % (self.shot, name))
        self.drivers[who].save_screenshot(path)
        print("  screenshot %s" % path, flush=True)

    def wait(self, who, condition, what, seconds=WAIT):
        try:
            return WebDriverWait(self.drivers[who], seconds, poll_frequency=0.1).until(lambda d: condition(d))
        except TimeoutException:
            raise StepFailed("%s: waited %d s for %s" % (self.step_name, seconds, what))

    @staticmethod
    def js(driver, script, *args):
        return driver.execute_script(script, *args)

    def texts(self, who, selector):
        return self.js(self.drivers[who], "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)", selector)

    def visible(self, who, selector):
        return self.js(self.drivers[who], """
            const e = document.querySelector(arguments[0]);
            if (!e) return false;
            const r = e.getBoundingClientRect(), s = getComputedStyle(e);
            return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0;""", selector)

    def customer_items(self):
        return self.js(self.drivers["customer"], """
            return Array.from(document.querySelectorAll('#log .item[data-seq]')).map(e => ({
                seq: Number(e.dataset.seq), from: e.dataset.from, type: e.dataset.type, route: e.dataset.route || null,
                state: e.dataset.state || null, text: e.querySelector('.bubble').textContent}));""")

    def check_items_once_in_order(self, context):
        items = self.customer_items()
        seqs = [i["seq"] for i in items]
        if seqs != sorted(set(seqs)):
            raise StepFailed("%s: customer items not shown once in seq order: %r" % (context, seqs))
        return items

    def no_horizontal_scroll(self, who, context):
        over = self.js(self.drivers[who], "return document.documentElement.scrollWidth - window.innerWidth")
        if over > 1:
            raise StepFailed("%s: the page is %d px wider than the %s screen" % (context, over, who))

    def send_customer(self, text):
        box = self.drivers["customer"].find_element(By.ID, "input")
        box.click()
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

    def run(self, base, server=None):
        args = self.args
        self.drivers["customer"] = browser(375, 812, args.chromium, args.chromedriver)
        self.drivers["agent"] = browser(1280, 900, args.chromium, args.chromedriver)
        customer, agent = self.drivers["customer"], self.drivers["agent"]

        self.step("the customer opens /chat/ and is greeted")
        customer.get(base + "/chat/")
        self.wait("customer", lambda d: self.js(d, "return document.querySelectorAll('#log .item.bot[data-seq]').length") >= 1,
                  "the bot's greeting")
        greeting = self.customer_items()[0]
        if greeting["from"] != "bot" or not greeting["text"].strip():
            raise StepFailed("the first item is not the bot's greeting: %r" % greeting)
        stored = self.js(customer, "return JSON.parse(localStorage.getItem('kefu.chat') || 'null')")
        if not stored or not stored.get("conversation") or not stored.get("token"):
            raise StepFailed("the conversation and its token are not kept in localStorage: %r" % stored)
        if self.js(customer, "return document.documentElement.lang") != "zh-CN":
            raise StepFailed("navigator.language zh-CN did not give simplified Chinese labels")
        self.no_horizontal_scroll("customer", "greeting")
        self.screenshot("customer", "customer-greeting")

        self.step("the customer asks a question and gets an answer")
        self.wait("customer", lambda d: self.js(d, "return document.body.dataset.transport") == "ws", "the WebSocket to open")
        self.send_customer(QUESTION)
        self.wait("customer", lambda d: any(i["from"] == "customer" and i["text"] == QUESTION for i in self.customer_items()),
                  "the customer's own message as an item")
        self.wait("customer", lambda d: any(i["from"] == "bot" and i["route"] == "answer" for i in self.customer_items()),
                  "the bot's answer (route answer)")
        self.wait("customer", lambda d: not self.js(d, "return document.querySelector('#log .pending, #log .failed') !== null"),
                  "no message left pending")
        self.check_items_once_in_order("after the answer")
        self.screenshot("customer", "customer-answer")

        self.step("the customer asks for a person and sees the queue")
        self.send_customer(ASK_PERSON)
        self.wait("customer", lambda d: self.js(d, "return document.getElementById('state').dataset.state") == "queued"
                  and self.visible("customer", "#state"), "the queued state bar")
        state_text = customer.find_element(By.ID, "state").text
        if "第 1 位" not in state_text:
            raise StepFailed("the queue bar does not show the position: %r" % state_text)
        ticket = next((m.group(0) for m in (re.search(r"T\d{6}", i["text"]) for i in self.customer_items()) if m), None)
        if not ticket:
            raise StepFailed("no ticket number in the handoff reply: %r" % self.customer_items()[-1])
        self.no_horizontal_scroll("customer", "queued")
        self.screenshot("customer", "customer-queued")

        self.step("the agent logs in and sees the case in the queue")
        agent.get(base + "/agent/")
        self.wait("agent", lambda d: self.visible("agent", "#login-name"), "the login form")
        agent.find_element(By.ID, "login-name").send_keys(AGENT)
        agent.find_element(By.ID, "login-password").send_keys(args.password)
        agent.find_element(By.ID, "login-password").send_keys(Keys.ENTER)
        self.wait("agent", lambda d: self.visible("agent", "#console"), "the console after login (login error: %s)"
                  % "see the screenshot")
        row = '#queue-list .ticket[data-id="%s"][data-state="waiting"]' % ticket
        self.wait("agent", lambda d: self.visible("agent", row), "ticket %s waiting in the queue" % ticket)
        row_text = agent.find_element(By.CSS_SELECTOR, row).text
        if "优先级" not in row_text or "requested" not in row_text or "已等" not in row_text:
            raise StepFailed("the queue row lacks priority, reason or waiting time: %r" % row_text)
        self.screenshot("agent", "agent-queue")

        self.step("the agent claims the case and sees the packet")
        agent.find_element(By.CSS_SELECTOR, row + " button.claim").click()
        self.wait("agent", lambda d: self.visible("agent", '#tabs button[data-id="%s"][aria-selected="true"]' % ticket),
                  "the claimed case as the selected tab")
        self.wait("agent", lambda d: any(QUESTION in t for t in self.texts("agent", "#transcript .line.customer")),
                  "the customer's question in the packet's transcript")
        self.wait("agent", lambda d: agent.find_element(By.ID, "case-summary").text.strip() != "", "the packet's summary")
        self.wait("agent", lambda d: len(self.texts("agent", "#case-turns .turn")) >= 1, "what the bot understood (turns)")
        turns = " ".join(self.texts("agent", "#case-turns .turn"))
        if "card_activate" not in turns:
            raise StepFailed("the detected topics and candidates are not shown: %r" % turns)
        self.screenshot("agent", "agent-packet")

        self.step("the customer sees the agent join")
        self.wait("customer", lambda d: self.js(d, "return document.getElementById('state').dataset.state") == "with_person",
                  "the with_person state")

        self.step("the agent replies and the customer sees it live")
        reply = agent.find_element(By.ID, "reply")
        reply.click()
        reply.send_keys(AGENT_REPLY)
        reply.send_keys(Keys.ENTER)
        self.wait("customer", lambda d: any(i["from"] == "agent" and AGENT_REPLY in i["text"] for i in self.customer_items()),
                  "the agent's reply on the customer's page")
        if not self.visible("customer", "#log .item.agent .who"):
            raise StepFailed("the agent's reply is not labelled as the agent's")
        look = self.js(customer, """
            const a = document.querySelector('#log .item.agent .bubble'), b = document.querySelector('#log .item.bot .bubble');
            return [getComputedStyle(a).backgroundColor, getComputedStyle(b).backgroundColor];""")
        if look[0] == look[1]:
            raise StepFailed("agent and bot messages look the same: %r" % look)
        self.check_items_once_in_order("after the agent's reply")
        self.no_horizontal_scroll("customer", "agent reply")
        self.screenshot("customer", "customer-agent-reply")

        if server is not None:
            self.step("the server restarts; both pages reconnect by themselves")
            logins = self.js(agent, "return Number(document.body.dataset.logins)")
            connects = self.js(customer, "return Number(document.body.dataset.connects)")
            server.restart()
            self.wait("agent", lambda d: self.js(d, "return Number(document.body.dataset.logins)") > logins,
                      "the console to log in again by itself", 40)
            self.wait("agent", lambda d: self.visible("agent", '#tabs button[data-id="%s"]' % ticket), "the open case's tab after re-login")
            self.wait("agent", lambda d: any(AGENT_REPLY in t for t in self.texts("agent", "#transcript .line.agent")),
                      "the transcript shown again after re-login")
            lines = self.texts("agent", "#transcript .line")
            if len(lines) != len(set(lines)):
                raise StepFailed("the transcript shows a line twice after re-login: %r" % lines)
            self.wait("customer", lambda d: self.js(d, "return Number(document.body.dataset.connects)") > connects
                      and not self.visible("customer", "#banner"), "the chat page to reconnect by itself", 40)
            self.check_items_once_in_order("after the restart")
            self.screenshot("agent", "agent-after-restart")

        self.step("the customer answers and the agent sees it")
        self.send_customer(CUSTOMER_ANSWER)
        self.wait("agent", lambda d: any(CUSTOMER_ANSWER in t for t in self.texts("agent", "#transcript .line.customer")),
                  "the customer's answer in the agent's transcript")
        self.screenshot("agent", "agent-customer-answer")

        self.step("the agent resolves the case")
        agent.find_element(By.ID, "resolve-note").send_keys(RESOLVE_NOTE)
        agent.find_element(By.ID, "resolve").click()
        self.wait("agent", lambda d: not self.js(d, "return document.querySelector('#tabs button[data-id=\"%s\"]') !== null" % ticket),
                  "the resolved case's tab to close")
        status = agent.find_element(By.ID, "status").text
        if "resolved" not in status:
            raise StepFailed("the status line does not say the case was resolved: %r" % status)
        self.screenshot("agent", "agent-resolved")

        self.step("the customer is asked for a rating and gives 5 stars")
        self.wait("customer", lambda d: self.visible("customer", "#rating button[data-score='5']"), "the rating stars")
        self.screenshot("customer", "customer-rating")
        before = max(i["seq"] for i in self.customer_items())
        customer.find_element(By.CSS_SELECTOR, "#rating button[data-score='5']").click()
        self.wait("customer", lambda d: any(i["from"] == "customer" and i["text"] == "5" and i["seq"] > before
                                            for i in self.customer_items()), "the rating sent as \"5\"")
        self.wait("customer", lambda d: any(i["from"] == "bot" and i["seq"] > before + 1 for i in self.customer_items()),
                  "the bot's thanks for the rating")
        self.wait("customer", lambda d: not self.visible("customer", "#rating"), "the rating stars to go away")
        items = self.check_items_once_in_order("after the rating")
        with open(os.path.join(self.artifacts, "customer-items.json"), "w") as f:
            json.dump(items, f, ensure_ascii=False, indent=1)
        self.screenshot("customer", "customer-rated")

        self.step("a reload shows the same conversation, each item once")
        customer.refresh()
        self.wait("customer", lambda d: len(self.customer_items()) >= len(items), "the history after a reload")
        again = self.check_items_once_in_order("after a reload")
        if [i["seq"] for i in again] != [i["seq"] for i in items]:
            raise StepFailed("the reload shows other items: %r, before %r" % ([i["seq"] for i in again], [i["seq"] for i in items]))
        self.screenshot("customer", "customer-reloaded")

        self.step("the same conversation over Server-Sent Events and POST")
        customer.get(base + "/chat/?transport=sse")
        self.wait("customer", lambda d: self.js(d, "return document.body.dataset.transport") == "sse", "the event stream to open")
        self.wait("customer", lambda d: len(self.customer_items()) >= len(items), "the history over the event stream")
        self.send_customer("谢谢")
        self.wait("customer", lambda d: any(i["from"] == "customer" and i["text"] == "谢谢" for i in self.customer_items())
                  and self.customer_items()[-1]["from"] == "bot", "the answer to a message sent by POST")
        self.check_items_once_in_order("over Server-Sent Events")
        self.screenshot("customer", "customer-sse")

        # Expected: refused connections and 503 while the server restarts, 404 for canned replies
        # when the server has none (the console then hides the panel).
        expected = re.compile(r"ERR_CONNECTION_REFUSED|status of 503|/v1/agent/canned .*404|WebSocket connection to .* failed")
        errors = [e for e in (customer.get_log("browser") + agent.get_log("browser"))
                  if e.get("level") == "SEVERE" and not expected.search(e.get("message", ""))]
        if errors:
            print("browser console errors (not fatal):", file=sys.stderr)
            for e in errors:
                print("  %s" % e.get("message"), file=sys.stderr)

    def close(self):
        for driver in self.drivers.values():
            try:
                driver.quit()
            except WebDriverException:
                pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kefu", required=True)
    parser.add_argument("--kb", required=True)
    parser.add_argument("--artifacts", default=".build/browser-artifacts")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--chromedriver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    parser.add_argument("--base", help="test a server already running at this URL (with --password) instead of starting one")
    parser.add_argument("--password", help="the password of agent %s on the server given with --base" % AGENT)
    parser.add_argument("--no-restart", action="store_true", help="skip restarting the server in the middle")
    args = parser.parse_args()

    started = time.monotonic()
    folder = tempfile.mkdtemp(prefix="kefu-browser-")
    data = os.path.join(folder, "data")
    os.makedirs(data)
    server = None
    test = Test(args)
    try:
        if args.base:
            test.run(args.base.rstrip("/"))
            print("browser test passed in %.1f s" % (time.monotonic() - started))
            return 0
        added = subprocess.run([args.kefu, "agent", "add", AGENT, "--data", data], capture_output=True, text=True, timeout=60)
        if added.returncode != 0 or not added.stdout.strip():
            raise StepFailed("kefu agent add failed (%d): %s" % (added.returncode, added.stderr.strip()))
        args.password = added.stdout.strip().splitlines()[-1]
        server = Server(args.kefu, args.kb, data, os.path.join(folder, "serve.log"))
        print("kefu serve: %s" % " ".join(server.command[1:]), flush=True)
        base = server.wait_ready()
        print("server at %s" % base, flush=True)
        test.run(base, None if args.no_restart else server)
    except (StepFailed, WebDriverException) as failure:
        print("\nFAIL (%s): %s" % (test.step_name, str(failure).strip().splitlines()[0] if str(failure).strip() else repr(failure)),
              file=sys.stderr)
        for who, driver in test.drivers.items():
            try:
                path = os.path.join(test.artifacts, "failure-%s.png" % who)
                driver.save_screenshot(path)
                print("  screenshot %s" % path, file=sys.stderr)
                for entry in driver.get_log("browser")[-10:]:
                    print("  %s console: %s" % (who, entry.get("message")), file=sys.stderr)
            except WebDriverException:
                pass
        if server:
            server.stop()
            with open(os.path.join(folder, "serve.log"), "rb") as f:
                tail = f.read().decode("utf-8", "replace").splitlines()[-15:]
            if tail:
                print("  kefu serve stderr (last lines):\n    " + "\n    ".join(tail), file=sys.stderr)
        return 1
    finally:
        test.close()
        if server:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print("browser test passed in %.1f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
