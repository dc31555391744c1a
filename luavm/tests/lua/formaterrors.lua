-- string.format checks that a conversion has its argument before it reads
-- the conversion, as lua5.4 does.
for _, f in ipairs({"%5%", "%y", "%5", "%d %y", "%", "abc%", "%10.3f|%-5d|%5s", "%%", "100%%", "%q", "%5.1s"}) do
  print(f, pcall(string.format, f))
  print(f, pcall(string.format, f, 1))
  print(f, pcall(string.format, f, 1, 2, "x"))
end
