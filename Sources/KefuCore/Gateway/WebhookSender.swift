import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Delivers the webhook outbox: one thread per URL, so a receiver that is slow or down never
/// holds back another. Each thread sends its URL's oldest delivery not yet acknowledged, and
/// nothing newer until that one is: receivers get events in order.
///
/// A 2xx answer acknowledges the delivery (`WebhookOutbox.acknowledge`). Anything else — another
/// status, no answer within `timeout`, a refused connection — is retried after a back-off of
/// 1 s, 2 s, 4 s … capped at 60 s, each less a random part of up to 20 % (so many senders do
/// not come back to a receiver at the same moment), until it is acknowledged. A URL that starts
/// failing is reported on stderr once, and once again when it recovers; a 4xx other than
/// 408 and 429 (the receiver refuses the request itself: a wrong path, a failed signature check)
/// is retried all the same and reported once per delivery.
final class WebhookSender: @unchecked Sendable {
    struct Policy: Sendable {
        /// The first back-off, doubled after each failure up to `maxDelay`.
        var firstDelay: TimeInterval = 1
        var maxDelay: TimeInterval = 60
        /// The share of a back-off taken off at random (0.2: between 80 % and 100 % of it).
        var jitter = 0.2
        /// For one attempt: connecting, sending and the answer's status line.
        var timeout: TimeInterval = 5
    }

    let outbox: WebhookOutbox
    let targets: [WebhookTarget]
    let policy: Policy
    private let key: [UInt8]
    /// Written once at `stop`, never read: every attempt in progress polls it and gives up.
    private var interruptRead: Int32 = -1, interruptWrite: Int32 = -1
    private let running = DispatchGroup()
    private var started = false

    private let log: any DiagnosticLog

    init(outbox: WebhookOutbox, targets: [WebhookTarget], secret: String, policy: Policy = Policy(),
         log: any DiagnosticLog = StandardErrorLog()) {
        self.log = log
        self.outbox = outbox
        var unique: [WebhookTarget] = []
        for target in targets where !unique.contains(where: { $0.url == target.url }) { unique.append(target) }
        self.targets = unique
        self.policy = policy
        key = Array(secret.utf8)
        var ends: [Int32] = [0, 0]
        if pipe(&ends) == 0 {
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            (interruptRead, interruptWrite) = (ends[0], ends[1])
        }
    }

    deinit {
        if interruptRead >= 0 { close(interruptRead) }
        if interruptWrite >= 0 { close(interruptWrite) }
    }

    func start() {
        guard !started else { return }
        started = true
        for (n, target) in targets.enumerated() {
            running.enter()
            let thread = Thread { [self] in
                deliver(to: target)
                running.leave()
            }
            thread.name = "kefu-webhook-\(n + 1)"
            thread.start()
        }
    }

    /// Ends every thread: waits, attempts in progress, all give up at once. What is not
    /// acknowledged stays in the outbox for the next start.
    func stop() {
        outbox.stopSending()
        if interruptWrite >= 0 {
            var byte: UInt8 = 1
            _ = Glibc.write(interruptWrite, &byte, 1)
        }
        if started { running.wait() }
    }

    /// The signature header's value: `sha256=` and the hex HMAC-SHA256, under the secret's
    /// bytes, of the timestamp, a dot and the body.
    static func signature(key: [UInt8], timestamp: Int, body: [UInt8]) -> String {
        "sha256=" + Hex.encode(HMACSHA256.authenticationCode(for: Array("\(timestamp).".utf8) + body, key: key))
    }

    /// The wait before attempt `failures + 1`: `firstDelay · 2^(failures − 1)`, at most
    /// `maxDelay`, less up to `jitter` of it at random.
    static func delay(afterFailures failures: Int, policy: Policy, random: Double = Double.random(in: 0..<1)) -> TimeInterval {
        let base = min(policy.maxDelay, policy.firstDelay * pow(2, Double(min(max(failures, 1), 40) - 1)))
        return base * (1 - policy.jitter * random)
    }

    /// Whether a status means "try again later" rather than "this request is refused".
    static func isRefusal(_ outcome: OutboundHTTP.Outcome) -> Bool {
        guard case .status(let code) = outcome else { return false }
        return (400..<500).contains(code) && code != 408 && code != 429
    }

    private func deliver(to target: WebhookTarget) {
        var failures = 0
        var reportedRefusal: String?
        while let delivery = outbox.next(for: target.url) {
            let outcome = attempt(delivery, to: target)
            if case .interrupted = outcome { return }
            if case .status(let code) = outcome, (200..<300).contains(code) {
                do {
                    try outbox.acknowledge(delivery)
                } catch {
                    complain("webhook \(delivery.id) to \(target.url) was delivered, but \(outbox.path) could not record it (\(error)); after a restart it may be sent again")
                }
                if failures > 0 {
                    outbox.setFailing(target.url, false)
                    complain("webhooks to \(target.url) are delivered again (after \(failures) failed attempt\(failures == 1 ? "" : "s"))")
                }
                failures = 0
                continue
            }
            guard !outbox.isClosed else { return }
            failures += 1
            if failures == 1 {
                outbox.setFailing(target.url, true)
                complain("webhooks to \(target.url) are failing (\(outcome)); retrying with back-off up to \(String(format: "%g", policy.maxDelay)) s, nothing is dropped")
            }
            if Self.isRefusal(outcome) && reportedRefusal != delivery.id {
                reportedRefusal = delivery.id
                complain("webhook \(delivery.id) (\(delivery.event)) to \(target.url) was refused with \(outcome); check the URL's path and the receiver's signature check (secret: $KEFU_WEBHOOK_SECRET or webhook-secret in the data folder). It is retried until acknowledged")
            }
            guard outbox.pause(until: Date().addingTimeInterval(Self.delay(afterFailures: failures, policy: policy))) else { return }
        }
    }

    private func attempt(_ delivery: WebhookOutbox.Delivery, to target: WebhookTarget) -> OutboundHTTP.Outcome {
        let timestamp = Int(Date().timeIntervalSince1970)
        let headers = [("X-Kefu-Event", delivery.event), ("X-Kefu-Delivery", delivery.id), ("X-Kefu-Timestamp", String(timestamp)),
                       ("X-Kefu-Signature", Self.signature(key: key, timestamp: timestamp, body: delivery.body))]
        let request = OutboundHTTP.post(target, headers: headers, body: delivery.body)
        return OutboundHTTP.send(request, to: target, timeout: policy.timeout, interrupt: interruptRead)
    }

    private func complain(_ text: String) {
        log.note("kefu serve: " + text)
    }
}
