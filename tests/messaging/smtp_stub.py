"""A tiny SMTP server on 127.0.0.1 standing in for the mail relay: it speaks enough real SMTP for
smtplib (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT), records each mail, and can refuse recipients."""

from __future__ import annotations

import base64
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class ReceivedMail:
    mail_from: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_content()


@dataclass
class SmtpStub:
    """`with SmtpStub() as smtp:` serves on `smtp.port` until the block ends."""

    refuse_recipients: bool = False
    password: str | None = None  # when set, AUTH PLAIN must carry it
    mails: list[ReceivedMail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def __enter__(self) -> SmtpStub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self):
        stub = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 stub.test ESMTP")
                mail_from, recipients = "", []
                while line := self.rfile.readline():
                    command, _, argument = line.decode().rstrip("\r\n").partition(" ")
                    verb = command.upper()
                    if verb == "EHLO":
                        self.reply("250-stub.test")
                        self.reply("250-AUTH PLAIN")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 stub.test")
                    elif verb == "AUTH":
                        _mechanism, _, token = argument.partition(" ")
                        _authzid, user, password = base64.b64decode(token).decode().split("\0")
                        stub.logins.append(user)
                        ok = stub.password is None or password == stub.password
                        self.reply("235 2.7.0 accepted" if ok else "535 5.7.8 bad credentials")
                    elif verb == "MAIL":
                        mail_from, recipients = argument.partition(":")[2].split(" ")[0].strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        if stub.refuse_recipients:
                            self.reply("550 5.1.1 no such user")
                        else:
                            recipients.append(argument.partition(":")[2].strip().strip("<>"))
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while (data_line := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(data_line[1:] if data_line.startswith(b"..") else data_line)
                        stub.mails.append(ReceivedMail(mail_from, recipients, b"".join(lines)))
                        self.reply(f"250 OK queued as {len(stub.mails)}")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 command not implemented")

        return Handler
