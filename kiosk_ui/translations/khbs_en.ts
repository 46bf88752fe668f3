<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="id">
<context>
    <name>Amount</name>
    <message>
        <source>Angka tidak sah.</source>
        <translation>Not a valid number.</translation>
    </message>
    <message>
        <source>Jumlah harus lebih dari nol.</source>
        <translation>The amount must be more than zero.</translation>
    </message>
    <message>
        <source>Melebihi sisa {left}.</source>
        <translation>More than the {left} left.</translation>
    </message>
    <message>
        <source>Kembali</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Lanjut: PIN warga</source>
        <translation>Next: holder&apos;s PIN</translation>
    </message>
    <message>
        <source>Berapa rupiah yang diambil?</source>
        <translation>How many rupiah are collected?</translation>
    </message>
    <message>
        <source>Berapa {unit} yang diambil?</source>
        <translation>How many {unit} are collected?</translation>
    </message>
</context>
<context>
    <name>Attract</name>
    <message>
        <source>Minta warga menempelkan kartu</source>
        <translation>Ask the citizen to tap the card</translation>
    </message>
    <message>
        <source>Kartu dibaca otomatis begitu ditempelkan.</source>
        <translation>The card is read as soon as it is tapped.</translation>
    </message>
    <message>
        <source>Tempelkan kartu Anda</source>
        <translation>Tap your card</translation>
    </message>
    <message>
        <source>Letakkan kartu di atas pembaca untuk melihat hak dan sisa bantuan Anda.</source>
        <translation>Hold your card on the reader to see your services and what is left.</translation>
    </message>
    <message>
        <source>Silakan ambil kartu Anda dari pembaca.</source>
        <translation>Please take your card from the reader.</translation>
    </message>
</context>
<context>
    <name>Codes</name>
    <message>
        <source>PIN salah</source>
        <translation>Wrong PIN</translation>
    </message>
    <message>
        <source>PIN terkunci</source>
        <translation>PIN locked</translation>
    </message>
    <message>
        <source>PIN harus 4 sampai 8 angka</source>
        <translation>The PIN must have 4 to 8 digits</translation>
    </message>
    <message>
        <source>Saldo tidak cukup</source>
        <translation>Not enough left</translation>
    </message>
    <message>
        <source>Warga tidak terdaftar di layanan ini</source>
        <translation>The holder is not enrolled in this service</translation>
    </message>
    <message>
        <source>Masa layanan sudah berakhir</source>
        <translation>The service period is over</translation>
    </message>
    <message>
        <source>Jumlah tidak sah</source>
        <translation>Invalid amount</translation>
    </message>
    <message>
        <source>Kartu menolak transaksi</source>
        <translation>The card refused the transaction</translation>
    </message>
    <message>
        <source>Kartu berubah sejak dibaca: tempelkan lagi</source>
        <translation>The card changed since it was read: tap it again</translation>
    </message>
    <message>
        <source>Hak belum atau tidak lagi berlaku saat ini</source>
        <translation>Entitlement not valid at this time</translation>
    </message>
    <message>
        <source>Transaksi sebelumnya baru diselesaikan: periksa struk sebelum mengulang</source>
        <translation>An earlier redemption was just completed: check its receipt before trying again</translation>
    </message>
    <message>
        <source>Transaksi sebelumnya belum pasti: tempelkan kartu lagi</source>
        <translation>An earlier redemption is not settled yet: tap the card again</translation>
    </message>
    <message>
        <source>Kartu terlepas dari pembaca</source>
        <translation>The card left the reader</translation>
    </message>
    <message>
        <source>Jawaban kartu tidak sah</source>
        <translation>The card&apos;s answer is not valid</translation>
    </message>
    <message>
        <source>Kartu menjawab di luar aturan</source>
        <translation>The card answered outside its rules</translation>
    </message>
    <message>
        <source>Hasil transaksi belum pasti: tempelkan kartu lagi</source>
        <translation>Outcome not certain yet: tap the card again</translation>
    </message>
    <message>
        <source>Bukti transaksi tidak ditandatangani kartu</source>
        <translation>The transaction record is not signed by the card</translation>
    </message>
    <message>
        <source>Bukti transaksi dari kartu tidak sesuai permintaan</source>
        <translation>The card&apos;s transaction record does not match the request</translation>
    </message>
    <message>
        <source>Transaksi belum tersimpan: tempelkan kartu lagi</source>
        <translation>Transaction not stored yet: tap the card again</translation>
    </message>
    <message>
        <source>Kartu menolak, tetapi catatannya berisi transaksi</source>
        <translation>The card refused, but its log holds the transaction</translation>
    </message>
    <message>
        <source>Catatan kartu berisi data palsu</source>
        <translation>The card&apos;s log holds forged data</translation>
    </message>
    <message>
        <source>Transaksi perlu diperiksa pusat</source>
        <translation>The transaction must be checked by the centre</translation>
    </message>
    <message>
        <source>Kartu dicabut</source>
        <translation>Card revoked</translation>
    </message>
    <message>
        <source>Kartu ditangguhkan</source>
        <translation>Card suspended</translation>
    </message>
    <message>
        <source>Kartu diblokir</source>
        <translation>Card blocked</translation>
    </message>
    <message>
        <source>Kartu diakhiri</source>
        <translation>Card terminated</translation>
    </message>
    <message>
        <source>Kartu kedaluwarsa</source>
        <translation>Card expired</translation>
    </message>
    <message>
        <source>Kartu tidak asli</source>
        <translation>Card not genuine</translation>
    </message>
    <message>
        <source>Data status terlalu lama</source>
        <translation>Status data too old</translation>
    </message>
    <message>
        <source>Tidak ada data status</source>
        <translation>No status data</translation>
    </message>
    <message>
        <source>Printer offline</source>
        <translation>Printer offline</translation>
    </message>
    <message>
        <source>Kertas habis</source>
        <translation>Out of paper</translation>
    </message>
    <message>
        <source>Penutup printer terbuka</source>
        <translation>Printer cover open</translation>
    </message>
    <message>
        <source>Printer tidak terhubung</source>
        <translation>Printer not connected</translation>
    </message>
</context>
<context>
    <name>Confirm</name>
    <message>
        <source>Periksa sebelum menyimpan</source>
        <translation>Check before saving</translation>
    </message>
    <message>
        <source>Batal</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Konfirmasi &amp;&amp; cetak struk</source>
        <translation>Confirm &amp;&amp; print receipt</translation>
    </message>
    <message>
        <source>Jangan angkat kartu sampai struk keluar.</source>
        <translation>Do not lift the card until the receipt is out.</translation>
    </message>
    <message>
        <source>Warga</source>
        <translation>Holder</translation>
    </message>
    <message>
        <source>Layanan</source>
        <translation>Service</translation>
    </message>
    <message>
        <source>Jumlah</source>
        <translation>Amount</translation>
    </message>
    <message>
        <source>Sisa sesudahnya</source>
        <translation>Left afterwards</translation>
    </message>
    <message>
        <source>Kunjungan (tanpa jumlah)</source>
        <translation>Visit (no amount)</translation>
    </message>
</context>
<context>
    <name>Counter</name>
    <message>
        <source>Petugas: {name} · {terminal}</source>
        <translation>Clerk: {name} · {terminal}</translation>
    </message>
    <message>
        <source>Kartu memeriksa PIN…</source>
        <translation>The card is checking the PIN…</translation>
    </message>
    <message>
        <source>Jangan angkat kartu.</source>
        <translation>Do not lift the card.</translation>
    </message>
    <message>
        <source>Menyimpan transaksi…</source>
        <translation>Saving the transaction…</translation>
    </message>
    <message>
        <source>Jangan angkat kartu sampai struk keluar.</source>
        <translation>Do not lift the card until the receipt is out.</translation>
    </message>
    <message>
        <source>Struk dicetak ulang.</source>
        <translation>Receipt printed again.</translation>
    </message>
    <message>
        <source>Struk belum tercetak: {fault}.</source>
        <translation>Receipt not printed yet: {fault}.</translation>
    </message>
    <message>
        <source>Transaksi ini tidak bisa dibatalkan (sudah dibatalkan?).</source>
        <translation>This transaction cannot be voided (already voided?).</translation>
    </message>
    <message>
        <source>Transaksi dibatalkan. Alasan tercatat, slip pembatalan dicetak.</source>
        <translation>Transaction voided. Reason recorded, void slip printed.</translation>
    </message>
    <message>
        <source>Transaksi dibatalkan. Alasan tercatat. Slip pembatalan belum tercetak: {fault}.</source>
        <translation>Transaction voided. Reason recorded. Void slip not printed yet: {fault}.</translation>
    </message>
    <message>
        <source>Laporan belum tercetak: {fault}.</source>
        <translation>Report not printed: {fault}.</translation>
    </message>
    <message>
        <source>Laporan dicetak.</source>
        <translation>Report printed.</translation>
    </message>
    <message>
        <source>Buka blokir PIN</source>
        <translation>Unblock PIN</translation>
    </message>
    <message>
        <source>Transaksi tidak dilakukan</source>
        <translation>Nothing was done</translation>
    </message>
    <message>
        <source>Tidak ada yang terpotong dari kartu. Periksa jumlah atau layanan, lalu coba lagi.</source>
        <translation>Nothing was taken from the card. Check the amount or the service, then try again.</translation>
    </message>
</context>
<context>
    <name>Demo</name>
    <message>
        <source>Panel demo KHBS</source>
        <translation>KHBS demo panel</translation>
    </message>
    <message>
        <source>Tempelkan kartu demo:</source>
        <translation>Tap a demo card:</translation>
    </message>
    <message>
        <source>Angkat kartu</source>
        <translation>Lift the card</translation>
    </message>
    <message>
        <source>Cabut pembaca kartu</source>
        <translation>Unplug the card reader</translation>
    </message>
    <message>
        <source>Kertas printer habis</source>
        <translation>Printer out of paper</translation>
    </message>
    <message>
        <source>Data tidak disinkronkan 8 hari</source>
        <translation>Data not synced for 8 days</translation>
    </message>
</context>
<context>
    <name>Detail</name>
    <message>
        <source>Kembali</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Cara mengambil</source>
        <translation>How to collect</translation>
    </message>
    <message>
        <source>Pemakaian terakhir</source>
        <translation>Recent use</translation>
    </message>
    <message>
        <source>Lowongan kerja di wilayah Anda</source>
        <translation>Job openings in your area</translation>
    </message>
    <message>
        <source>Pelatihan di wilayah Anda</source>
        <translation>Training in your area</translation>
    </message>
    <message>
        <source>Program rumah guru di wilayah Anda</source>
        <translation>Teacher housing in your area</translation>
    </message>
    <message>
        <source>Membaca catatan di kartu…</source>
        <translation>Reading the card&apos;s records…</translation>
    </message>
    <message>
        <source>Belum ada pemakaian tercatat di kartu ini.</source>
        <translation>No use recorded on this card yet.</translation>
    </message>
    <message>
        <source>Kunjungan tercatat</source>
        <translation>Visit recorded</translation>
    </message>
    <message>
        <source>{amount}, sisa {left}</source>
        <translation>{amount}, {left} left</translation>
    </message>
    <message>
        <source>Pendaftaran disimpan di mesin ini dan dikirim ke dinas saat terhubung.</source>
        <translation>Registrations are kept on this machine and sent to the agency when it is online.</translation>
    </message>
    <message>
        <source>Layanan ini belum aktif di kartu Anda. Tanyakan di kantor kelurahan atau desa.</source>
        <translation>This service is not active on your card. Ask at the village or ward office.</translation>
    </message>
    <message>
        <source>Memuat daftar…</source>
        <translation>Loading the list…</translation>
    </message>
    <message>
        <source>Belum ada yang dibuka untuk wilayah Anda.</source>
        <translation>Nothing open for your area yet.</translation>
    </message>
    <message>
        <source>{n} tempat</source>
        <translation>{n} places</translation>
    </message>
    <message>
        <source>daftar s.d. {date}</source>
        <translation>apply by {date}</translation>
    </message>
    <message>
        <source>✓ Minat Anda tercatat. Akan dikirim saat terhubung.</source>
        <translation>✓ Your interest is recorded. It will be sent when online.</translation>
    </message>
    <message>
        <source>✓ Anda sudah mendaftar minat.</source>
        <translation>✓ You have already registered interest.</translation>
    </message>
    <message>
        <source>Daftar minat</source>
        <translation>Register interest</translation>
    </message>
</context>
<context>
    <name>Holder</name>
    <message>
        <source>Foto: cocokkan dengan e-KTP</source>
        <translation>Photo: compare with the e-KTP</translation>
    </message>
    <message>
        <source>Buka blokir / ganti PIN</source>
        <translation>Unblock / change PIN</translation>
    </message>
    <message>
        <source>Selesai</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>Pilih layanan yang diambil:</source>
        <translation>Choose the service to collect:</translation>
    </message>
    <message>
        <source>PIN terkunci: buka blokir setelah memeriksa e-KTP.</source>
        <translation>PIN locked: unblock after checking the e-KTP.</translation>
    </message>
    <message>
        <source>PIN aktif (sisa {n} kali mencoba)</source>
        <translation>PIN active ({n} tries left)</translation>
    </message>
    <message>
        <source>Transaksi yang tadi terputus ternyata sudah tercatat di kartu: selesai, struk dicetak.</source>
        <translation>The interrupted transaction is on the card after all: finished, receipt printed.</translation>
    </message>
    <message>
        <source>Transaksi yang tadi terputus tidak terjadi: saldo kartu tidak berubah.</source>
        <translation>The interrupted transaction did not happen: the card&apos;s balance is unchanged.</translation>
    </message>
    <message>
        <source>Ada transaksi terputus yang perlu diperiksa petugas pusat.</source>
        <translation>An interrupted transaction needs checking by the central office.</translation>
    </message>
</context>
<context>
    <name>Home</name>
    <message>
        <source>Transaksi hari ini</source>
        <translation>Today&apos;s transactions</translation>
    </message>
    <message>
        <source>Laporan akhir hari</source>
        <translation>End-of-day report</translation>
    </message>
    <message>
        <source>Keluar</source>
        <translation>Log out</translation>
    </message>
    <message>
        <source>Kartu diangkat. Tidak ada transaksi yang dilakukan.</source>
        <translation>Card lifted. No transaction was made.</translation>
    </message>
</context>
<context>
    <name>HowTo</name>
    <message>
        <source>Ambil di loket kelurahan atau desa, kantor pos, atau bank penyalur pada jadwal penyaluran. Bawa kartu ini. Petugas memasukkan jumlahnya, Anda memasukkan PIN, lalu struk dicetak.</source>
        <translation>Collect it at the village or ward counter, the post office or the paying bank on the payment days. Bring this card. The clerk enters the amount, you enter your PIN, and a receipt is printed.</translation>
    </message>
    <message>
        <source>Belanja di Operasi Pasar Sembako Murah di kecamatan Anda (jadwal ada di papan pengumuman kelurahan). Tempelkan kartu di loket; jatah dikurangi sesuai yang Anda ambil.</source>
        <translation>Shop at the cheap staple-food market in your district (dates are on the ward notice board). Tap your card at the counter; your quota goes down by what you take.</translation>
    </message>
    <message>
        <source>Tunjukkan kartu ini di sekolah negeri atau madrasah saat mendaftar. Biaya sekolah ditanggung.</source>
        <translation>Show this card at a state school or madrasah when enrolling. School fees are covered.</translation>
    </message>
    <message>
        <source>Tunjukkan kartu ini di puskesmas atau rumah sakit daerah. Pemeriksaan dan obat dasar gratis.</source>
        <translation>Show this card at the community health centre or the regional hospital. Check-ups and basic medicines are free.</translation>
    </message>
    <message>
        <source>Pilih lowongan di bawah, lalu tekan Daftar minat. Dinas Tenaga Kerja akan menghubungi Anda.</source>
        <translation>Choose an opening below and press Register interest. The labour office will contact you.</translation>
    </message>
    <message>
        <source>Ambil di Dinas Pertanian atau Perikanan kabupaten, atau di loket kelurahan pada jadwal penyaluran. Bawa kartu ini dan kartu kelompok tani atau nelayan.</source>
        <translation>Collect it at the regency agriculture or fisheries office, or at the ward counter on the payment days. Bring this card and your farmers&apos; or fishers&apos; group card.</translation>
    </message>
    <message>
        <source>Pilih program rumah di bawah, lalu tekan Daftar minat. Dinas Pendidikan akan memeriksa data Anda.</source>
        <translation>Choose a housing programme below and press Register interest. The education office will check your details.</translation>
    </message>
    <message>
        <source>Pilih pelatihan di bawah, lalu tekan Daftar minat. Dinas penyelenggara akan memberi tahu jadwalnya.</source>
        <translation>Choose a course below and press Register interest. The organising agency will tell you the schedule.</translation>
    </message>
</context>
<context>
    <name>Login</name>
    <message>
        <source>Masuk petugas</source>
        <translation>Clerk login</translation>
    </message>
    <message>
        <source>Pilih atau ketik ID petugas, lalu masukkan PIN petugas.</source>
        <translation>Choose or type the clerk ID, then enter the clerk PIN.</translation>
    </message>
    <message>
        <source>ID petugas</source>
        <translation>Clerk ID</translation>
    </message>
    <message>
        <source>Petugas keluar otomatis: {n} detik tanpa aktivitas. Data warga sudah dihapus dari layar.</source>
        <translation>Clerk logged out automatically after {n} seconds without activity. The citizen&apos;s data was cleared from the screen.</translation>
    </message>
    <message>
        <source>ID atau PIN petugas salah. Coba lagi setelah {n} detik.</source>
        <translation>Wrong clerk ID or PIN. Try again in {n} seconds.</translation>
    </message>
    <message>
        <source>ID atau PIN petugas salah.</source>
        <translation>Wrong clerk ID or PIN.</translation>
    </message>
    <message>
        <source>Tunggu {n} detik lagi sebelum mencoba.</source>
        <translation>Wait {n} more seconds before trying again.</translation>
    </message>
    <message>
        <source>Terlalu banyak PIN salah: ID ini dikunci {n} menit.</source>
        <translation>Too many wrong PINs: this ID is locked for {n} minutes.</translation>
    </message>
    <message>
        <source>Login petugas tidak dapat diperiksa (berkas keamanan rusak). Hubungi admin.</source>
        <translation>Clerk logins cannot be checked (the security file is damaged). Call the administrator.</translation>
    </message>
</context>
<context>
    <name>Personal</name>
    <message>
        <source>Tutup</source>
        <translation>Close</translation>
    </message>
    <message>
        <source>Nomor NIK dan KK sengaja disamarkan. Layar ini tertutup sendiri setelah 30 detik.</source>
        <translation>The NIK and family card numbers are masked on purpose. This screen closes by itself after 30 seconds.</translation>
    </message>
    <message>
        <source>NIK</source>
        <translation>NIK</translation>
    </message>
    <message>
        <source>Tanggal lahir</source>
        <translation>Date of birth</translation>
    </message>
    <message>
        <source>Jenis kelamin</source>
        <translation>Sex</translation>
    </message>
    <message>
        <source>Nomor KK</source>
        <translation>Family card no.</translation>
    </message>
    <message>
        <source>Wilayah</source>
        <translation>Regency/city</translation>
    </message>
    <message>
        <source>Laki-laki</source>
        <translation>Male</translation>
    </message>
    <message>
        <source>Perempuan</source>
        <translation>Female</translation>
    </message>
</context>
<context>
    <name>Pin</name>
    <message>
        <source>Warga: masukkan PIN kartu</source>
        <extracomment>What the PIN screen says when the holder&apos;s PIN is asked for a redemption: title, subtitle.</extracomment>
        <translation>Holder: enter the card PIN</translation>
    </message>
    <message>
        <source>Petugas: balikkan layar atau berikan papan PIN kepada warga.</source>
        <translation>Clerk: turn the screen or hand the PIN pad to the holder.</translation>
    </message>
    <message>
        <source>Warga: ketik PIN baru sekali lagi</source>
        <translation>Holder: type the new PIN once more</translation>
    </message>
    <message>
        <source>Untuk memastikan tidak salah ketik.</source>
        <translation>To make sure there is no typing mistake.</translation>
    </message>
    <message>
        <source>Warga: pilih PIN baru</source>
        <translation>Holder: choose a new PIN</translation>
    </message>
    <message>
        <source>4 sampai 8 angka. Jangan pakai tanggal lahir.</source>
        <translation>4 to 8 digits. Do not use a date of birth.</translation>
    </message>
    <message>
        <source>Kedua PIN tidak sama. Ulangi dari awal.</source>
        <translation>The two PINs differ. Start again.</translation>
    </message>
    <message>
        <source>Masukkan PIN untuk melihat data pribadi</source>
        <extracomment>(milliseconds from the card event to the first paint of the service tiles) The last seconds of ``IDLE_S`` are the &quot;Masih di sini?&quot; countdown. Every card is a fresh session: it ends in this language (the one the kiosk started in).</extracomment>
        <translation>Enter your PIN to see your personal details</translation>
    </message>
    <message>
        <source>PIN tidak akan terlihat di layar. Tutupi tangan Anda saat menekan.</source>
        <translation>The PIN is never shown. Cover your hand while typing.</translation>
    </message>
    <message>
        <source>Masukkan PIN kartu Anda</source>
        <translation>Enter your card PIN</translation>
    </message>
    <message>
        <source>PIN salah. Tinggal 1 kali lagi sebelum PIN terkunci.</source>
        <extracomment>What the entered PIN is for (the counter asks for several in a row).</extracomment>
        <translation>Wrong PIN. 1 try left before the PIN locks.</translation>
    </message>
    <message>
        <source>PIN salah. Sisa {tries} kali mencoba.</source>
        <translation>Wrong PIN. {tries} tries left.</translation>
    </message>
    <message>
        <source>Untuk: {program} · {amount}</source>
        <translation>For: {program} · {amount}</translation>
    </message>
</context>
<context>
    <name>PinPad</name>
    <message>
        <source>⌫ Hapus</source>
        <extracomment>Called after every paint (latency measurements). Plain callables, not a Qt signal: emitting a signal from inside paintEvent leaks a reference to ``True`` per paint in PySide6 6.12 (found by watching sys.getrefcount(True) fall until the interpreter aborted at exit). The on-screen pad the physical keyboard types on while this screen is shown (None: no pad). px between the two language buttons</extracomment>
        <translation>⌫ Delete</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Batal</source>
        <translation>Cancel</translation>
    </message>
</context>
<context>
    <name>Printer</name>
    <message>
        <source>printer mati atau offline</source>
        <translation>printer off or offline</translation>
    </message>
    <message>
        <source>kertas printer habis</source>
        <translation>printer out of paper</translation>
    </message>
    <message>
        <source>penutup printer terbuka</source>
        <translation>printer cover open</translation>
    </message>
    <message>
        <source>printer tidak terhubung</source>
        <translation>printer not connected</translation>
    </message>
    <message>
        <source>tidak ada printer</source>
        <translation>no printer</translation>
    </message>
    <message>
        <source>kertas hampir habis</source>
        <translation>paper nearly out</translation>
    </message>
    <message>
        <source>printer bermasalah</source>
        <translation>printer problem</translation>
    </message>
</context>
<context>
    <name>Readers</name>
    <message>
        <source>Menghubungkan pembaca kartu…</source>
        <translation>Connecting the card reader…</translation>
    </message>
    <message>
        <source>Layanan pembaca kartu berhenti, sedang dipulihkan…</source>
        <translation>Card reader service stopped, recovering…</translation>
    </message>
    <message>
        <source>Pembaca kartu tidak ditemukan</source>
        <translation>Card reader not found</translation>
    </message>
    <message>
        <source>Pembaca kartu siap: masukkan kartu ke slot</source>
        <translation>Card reader ready: insert the card in the slot</translation>
    </message>
    <message>
        <source>Pembaca kartu siap</source>
        <translation>Card reader ready</translation>
    </message>
</context>
<context>
    <name>Reading</name>
    <message>
        <source>Membaca kartu…</source>
        <translation>Reading the card…</translation>
    </message>
    <message>
        <source>Jangan angkat kartu dulu.</source>
        <translation>Keep the card on the reader.</translation>
    </message>
</context>
<context>
    <name>Refusal</name>
    <message>
        <source>Apa yang perlu dilakukan:</source>
        <translation>What to do:</translation>
    </message>
    <message>
        <source>Kembali</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Selesai</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>Kartu tidak dikenal</source>
        <extracomment>What each refusal screen says: icon, title, what happened, what to do next (sources in context &quot;Refusal&quot;). Two screens say more: a clerk is told how to unblock a PIN, and &quot;data too old&quot; says how old.</extracomment>
        <translation>Card not recognised</translation>
    </message>
    <message>
        <source>Kartu ini bukan Kartu Huma Betang Sejahtera, atau tidak dapat dibaca.</source>
        <translation>This is not a Kartu Huma Betang Sejahtera card, or it cannot be read.</translation>
    </message>
    <message>
        <source>Periksa apakah kartu yang ditempelkan sudah benar. Jika sudah, bawa kartu ke kantor kelurahan atau desa.</source>
        <translation>Check that you tapped the right card. If you did, take the card to the village or ward office.</translation>
    </message>
    <message>
        <source>Kartu diblokir</source>
        <translation>Card blocked</translation>
    </message>
    <message>
        <source>Kartu ini sudah dicabut atau diblokir, jadi tidak bisa dipakai untuk layanan.</source>
        <translation>This card has been revoked or blocked, so it cannot be used for services.</translation>
    </message>
    <message>
        <source>Datanglah ke kantor kelurahan atau desa dengan e-KTP Anda. Petugas akan menjelaskan alasannya dan membantu bila perlu kartu baru.</source>
        <translation>Go to the village or ward office with your e-KTP. The staff will explain why and help you get a new card if needed.</translation>
    </message>
    <message>
        <source>Kartu sudah tidak berlaku</source>
        <translation>Card no longer valid</translation>
    </message>
    <message>
        <source>Masa berlaku kartu ini sudah habis.</source>
        <translation>This card has expired.</translation>
    </message>
    <message>
        <source>Bawa kartu ini dan e-KTP ke kantor kelurahan atau desa untuk mendapat kartu baru. Hak Anda tidak hilang.</source>
        <translation>Take this card and your e-KTP to the village or ward office for a new card. You do not lose your rights.</translation>
    </message>
    <message>
        <source>Kartu tidak asli</source>
        <translation>Card not genuine</translation>
    </message>
    <message>
        <source>Kartu ini tidak lolos pemeriksaan keaslian.</source>
        <translation>This card failed the authenticity check.</translation>
    </message>
    <message>
        <source>Jangan gunakan kartu ini. Bawa kartu dan e-KTP ke kantor kelurahan atau desa. Jika kartu Anda hilang atau dicuri, laporkan di sana.</source>
        <translation>Do not use this card. Take it and your e-KTP to the village or ward office. If your own card was lost or stolen, report it there.</translation>
    </message>
    <message>
        <source>PIN terkunci</source>
        <translation>PIN locked</translation>
    </message>
    <message>
        <source>PIN salah dimasukkan 3 kali, jadi PIN dikunci. Kartu dan hak Anda tetap aman.</source>
        <translation>A wrong PIN was entered 3 times, so the PIN is locked. Your card and your rights are safe.</translation>
    </message>
    <message>
        <source>Petugas dapat membuka PIN setelah memeriksa e-KTP warga.</source>
        <translation>The clerk can unblock the PIN after checking the holder&apos;s e-KTP.</translation>
    </message>
    <message>
        <source>Datanglah ke loket layanan dengan e-KTP. Petugas dapat membuka PIN Anda saat itu juga.</source>
        <translation>Go to a service counter with your e-KTP. The clerk can unblock your PIN on the spot.</translation>
    </message>
    <message>
        <source>Pembaca kartu tidak ditemukan</source>
        <translation>Card reader not found</translation>
    </message>
    <message>
        <source>Mesin ini tidak dapat membaca kartu saat ini.</source>
        <translation>This machine cannot read cards right now.</translation>
    </message>
    <message>
        <source>Silakan panggil petugas atau gunakan mesin lain. Kartu Anda tidak bermasalah.</source>
        <translation>Please call a staff member or use another machine. Nothing is wrong with your card.</translation>
    </message>
    <message>
        <source>Mesin ini belum punya data status kartu, jadi belum bisa memastikan kartu Anda.</source>
        <translation>This machine has no card status data yet, so it cannot confirm your card.</translation>
    </message>
    <message>
        <source>Data di mesin ini terakhir diperbarui {age} yang lalu. Itu terlalu lama untuk memastikan status kartu Anda.</source>
        <translation>This machine&apos;s data was last updated {age} ago. That is too old to confirm your card&apos;s status.</translation>
    </message>
    <message>
        <source>Belum bisa memeriksa kartu</source>
        <translation>Cannot check the card yet</translation>
    </message>
    <message>
        <source>Kartu Anda tidak ditolak. Coba lagi nanti, atau gunakan mesin lain atau loket kelurahan.</source>
        <translation>Your card is not refused. Try again later, or use another machine or the ward counter.</translation>
    </message>
    <message>
        <source>Kartu terlepas</source>
        <translation>Card lifted too early</translation>
    </message>
    <message>
        <source>Kartu diangkat sebelum selesai dibaca.</source>
        <translation>The card was lifted before it was fully read.</translation>
    </message>
    <message>
        <source>Tempelkan kartu lagi dan tahan sampai layar berganti.</source>
        <translation>Tap the card again and hold it until the screen changes.</translation>
    </message>
    <message>
        <source>Terjadi gangguan</source>
        <translation>Something went wrong</translation>
    </message>
    <message>
        <source>Mesin ini sedang mengalami gangguan.</source>
        <translation>This machine has a problem.</translation>
    </message>
    <message>
        <source>Silakan coba lagi. Jika masih terjadi, panggil petugas.</source>
        <translation>Please try again. If it happens again, call a staff member.</translation>
    </message>
</context>
<context>
    <name>Report</name>
    <message>
        <source>Kembali</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Cetak laporan</source>
        <translation>Print report</translation>
    </message>
    <message>
        <source>Laporan akhir hari</source>
        <translation>End-of-day report</translation>
    </message>
    <message>
        <source>Laporan akhir hari · {date}</source>
        <translation>End-of-day report · {date}</translation>
    </message>
    <message>
        <source>Layanan yang diberikan</source>
        <translation>Services given</translation>
    </message>
    <message>
        <source>Belum ada transaksi hari ini.</source>
        <translation>No transactions today yet.</translation>
    </message>
    <message>
        <source>{program}: {n} transaksi</source>
        <translation>{program}: {n} transactions</translation>
    </message>
    <message>
        <source>Dibatalkan (void): {n}</source>
        <translation>Voided: {n}</translation>
    </message>
    <message>
        <source>Struk dicetak ulang: {n}</source>
        <translation>Receipts reprinted: {n}</translation>
    </message>
    <message>
        <source>Struk belum tercetak: {n}</source>
        <translation>Receipts not printed: {n}</translation>
    </message>
    <message>
        <source>Penolakan</source>
        <translation>Refusals</translation>
    </message>
    <message>
        <source>Tidak ada penolakan.</source>
        <translation>No refusals.</translation>
    </message>
</context>
<context>
    <name>Reset</name>
    <message>
        <source>Buka blokir dan ganti PIN</source>
        <translation>Unblock and change the PIN</translation>
    </message>
    <message>
        <source>NIK tidak cocok dengan kartu ini. Periksa e-KTP dan ketik ulang NIK-nya.</source>
        <extracomment>What the reset screen says when the card refuses the reset (context &quot;Reset&quot;).</extracomment>
        <translation>The NIK does not match this card. Check the e-KTP and type the NIK again.</translation>
    </message>
    <message>
        <source>Terlalu banyak NIK salah: PIN kartu ini hanya bisa dibuka oleh kantor penerbit.</source>
        <translation>Too many wrong NIKs: only the issuing office can unblock this card&apos;s PIN now.</translation>
    </message>
    <message>
        <source>Kartu di pembaca bukan kartu yang diperiksa. Tempelkan kartu warga lagi.</source>
        <translation>The card in the reader is not the card that was checked. Tap the citizen&apos;s card again.</translation>
    </message>
    <message>
        <source>1. Minta e-KTP warga.
2. Cocokkan nama, foto dan NIK di e-KTP dengan kartu ini.
3. Ketik NIK dari e-KTP: kartu memeriksanya sendiri.
4. Warga memilih PIN baru sendiri di layar (4 sampai 8 angka). Petugas tidak boleh melihatnya.</source>
        <translation>1. Ask for the citizen&apos;s e-KTP.
2. Check that the name, photo and NIK on the e-KTP match this card.
3. Type the NIK from the e-KTP: the card checks it itself.
4. The citizen chooses a new PIN on the screen (4 to 8 digits). The clerk must not see it.</translation>
    </message>
    <message>
        <source>NIK di e-KTP (16 angka)</source>
        <translation>NIK on the e-KTP (16 digits)</translation>
    </message>
    <message>
        <source>Ketik 16 angka NIK</source>
        <translation>Type the 16-digit NIK</translation>
    </message>
    <message>
        <source>e-KTP sudah saya periksa dan cocok dengan pemegang kartu</source>
        <translation>I checked the e-KTP and it matches the card holder</translation>
    </message>
    <message>
        <source>Kembali</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Lanjut: warga memilih PIN baru</source>
        <translation>Next: the holder chooses a new PIN</translation>
    </message>
</context>
<context>
    <name>Result</name>
    <message>
        <source>Cetak ulang struk</source>
        <translation>Print receipt again</translation>
    </message>
    <message>
        <source>Selesai</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>Struk belum tercetak: {fault}. Transaksi sudah tersimpan. Perbaiki printer, lalu tekan Cetak ulang struk.</source>
        <translation>Receipt not printed: {fault}. The transaction is saved. Fix the printer, then press Print receipt again.</translation>
    </message>
    <message>
        <source>Berhasil</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>{amount} dari {program}. Sisa: {left}.</source>
        <translation>{amount} from {program}. Left: {left}.</translation>
    </message>
    <message>
        <source>Kunjungan {program} tercatat.</source>
        <translation>{program} visit recorded.</translation>
    </message>
    <message>
        <source>Struk sudah dicetak.</source>
        <translation>Receipt printed.</translation>
    </message>
    <message>
        <source>Tempelkan kartu lagi untuk menyelesaikan</source>
        <translation>Tap the card again to finish</translation>
    </message>
    <message>
        <source>Kartu terangkat saat transaksi. Minta warga menempelkan kartu lagi: mesin akan memeriksa catatan di kartu dan menyelesaikannya. Jangan ulangi transaksi sebelum itu.</source>
        <translation>The card was lifted during the transaction. Ask the holder to tap the card again: the machine checks the card&apos;s records and finishes it. Do not repeat the transaction before that.</translation>
    </message>
    <message>
        <source>PIN baru aktif</source>
        <translation>New PIN active</translation>
    </message>
    <message>
        <source>PIN kartu sudah dibuka dan diganti. Warga dapat memakainya sekarang.</source>
        <translation>The card&apos;s PIN is unblocked and changed. The holder can use it now.</translation>
    </message>
</context>
<context>
    <name>Services</name>
    <message>
        <source>Data pribadi (PIN)</source>
        <translation>Personal details (PIN)</translation>
    </message>
    <message>
        <source>Selesai</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>Sentuh layanan untuk melihat rincian dan cara mengambilnya.</source>
        <translation>Touch a service to see details and how to collect it.</translation>
    </message>
    <message>
        <source>Halo, {name}</source>
        <translation>Hello, {name}</translation>
    </message>
</context>
<context>
    <name>Status</name>
    <message>
        <source>Printer: memeriksa…</source>
        <translation>Printer: checking…</translation>
    </message>
    <message>
        <source>Printer siap</source>
        <translation>Printer ready</translation>
    </message>
    <message>
        <source>Tidak ada printer</source>
        <translation>No printer</translation>
    </message>
    <message>
        <source>Printer (status tidak diketahui)</source>
        <translation>Printer (status unknown)</translation>
    </message>
    <message>
        <source>Printer: {fault}</source>
        <translation>Printer: {fault}</translation>
    </message>
    <message>
        <source>Data status: belum ada</source>
        <translation>Status data: none yet</translation>
    </message>
    <message>
        <source>Data status: {age}</source>
        <translation>Status data: {age} old</translation>
    </message>
    <message>
        <source>sinkron {age} lalu</source>
        <translation>synced {age} ago</translation>
    </message>
    <message>
        <source>belum pernah sinkron</source>
        <translation>never synced</translation>
    </message>
    <message>
        <source>Belum terkirim: {n} · Struk tertunda: {r}</source>
        <translation>Not uploaded: {n} · Receipts waiting: {r}</translation>
    </message>
</context>
<context>
    <name>StillHere</name>
    <message>
        <source>Masih di sini?</source>
        <translation>Still there?</translation>
    </message>
    <message>
        <source>Layar kembali ke awal dalam {n} detik.</source>
        <translation>The screen goes back to the start in {n} seconds.</translation>
    </message>
    <message>
        <source>Ya, saya masih di sini</source>
        <translation>Yes, I am still here</translation>
    </message>
</context>
<context>
    <name>Texts</name>
    <message>
        <source>{d} hari {h} jam</source>
        <extracomment>Short English names for narrow tiles (the Indonesian short names come with the core&apos;s ProgramInfo).</extracomment>
        <translation>{d} days {h} h</translation>
    </message>
    <message>
        <source>{h} jam {m} menit</source>
        <translation>{h} h {m} min</translation>
    </message>
    <message>
        <source>{m} menit</source>
        <translation>{m} min</translation>
    </message>
    <message>
        <source>tanpa batas</source>
        <translation>no limit</translation>
    </message>
    <message>
        <source>{n} buah</source>
        <translation>{n} pieces</translation>
    </message>
    <message>
        <source>{n} kunjungan</source>
        <translation>{n} visits</translation>
    </message>
    <message>
        <source>buah</source>
        <translation>pieces</translation>
    </message>
    <message>
        <source>Bisa mendaftar</source>
        <translation>Can apply</translation>
    </message>
    <message>
        <source>Aktif</source>
        <translation>Active</translation>
    </message>
    <message>
        <source>Sudah habis</source>
        <translation>Used up</translation>
    </message>
    <message>
        <source>Sudah berakhir</source>
        <translation>Ended</translation>
    </message>
    <message>
        <source>Belum mulai</source>
        <translation>Not started</translation>
    </message>
    <message>
        <source>Tidak terdaftar</source>
        <translation>Not enrolled</translation>
    </message>
    <message>
        <source>Terdaftar</source>
        <translation>Registered</translation>
    </message>
    <message>
        <source>Diterima</source>
        <translation>Accepted</translation>
    </message>
    <message>
        <source>Selesai</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>Gratis, tanpa batas</source>
        <translation>Free, no limit</translation>
    </message>
    <message>
        <source>Sisa {amount}</source>
        <translation>Left {amount}</translation>
    </message>
    <message>
        <source>s.d. {date}</source>
        <translation>until {date}</translation>
    </message>
    <message>
        <source>Berlaku s.d. {date}</source>
        <translation>Valid until {date}</translation>
    </message>
</context>
<context>
    <name>Transactions</name>
    <message>
        <source>Transaksi terakhir</source>
        <translation>Recent transactions</translation>
    </message>
    <message>
        <source>Kembali</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Cetak ulang struk</source>
        <translation>Print receipt again</translation>
    </message>
    <message>
        <source>Batalkan (void)</source>
        <translation>Void</translation>
    </message>
    <message>
        <source>Waktu</source>
        <translation>Time</translation>
    </message>
    <message>
        <source>Warga</source>
        <translation>Holder</translation>
    </message>
    <message>
        <source>Layanan</source>
        <translation>Service</translation>
    </message>
    <message>
        <source>Jumlah</source>
        <translation>Amount</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Struk</source>
        <translation>Receipt</translation>
    </message>
    <message>
        <source>Selesai</source>
        <translation>Done</translation>
    </message>
    <message>
        <source>Terputus</source>
        <translation>Interrupted</translation>
    </message>
    <message>
        <source>Tidak terjadi</source>
        <translation>Did not happen</translation>
    </message>
    <message>
        <source>Perlu diperiksa</source>
        <translation>Needs checking</translation>
    </message>
    <message>
        <source>Dibatalkan</source>
        <translation>Voided</translation>
    </message>
    <message>
        <source>Belum</source>
        <translation>Not yet</translation>
    </message>
    <message>
        <source>Tercetak</source>
        <translation>Printed</translation>
    </message>
    <message>
        <source>Gagal</source>
        <translation>Failed</translation>
    </message>
</context>
<context>
    <name>Voice</name>
    <message>
        <source>Dengarkan</source>
        <extracomment>&quot;Dengarkan&quot; was pressed in this holder&apos;s session: every next screen speaks too.</extracomment>
        <translation>Listen</translation>
    </message>
</context>
<context>
    <name>Void</name>
    <message>
        <source>Jumlah salah dimasukkan</source>
        <translation>Wrong amount entered</translation>
    </message>
    <message>
        <source>Layanan salah dipilih</source>
        <translation>Wrong service chosen</translation>
    </message>
    <message>
        <source>Barang atau uang tidak jadi diserahkan</source>
        <translation>Goods or money not handed over</translation>
    </message>
    <message>
        <source>Batalkan transaksi</source>
        <translation>Void the transaction</translation>
    </message>
    <message>
        <source>Pilih atau tulis alasannya (wajib):</source>
        <translation>Choose or write the reason (required):</translation>
    </message>
    <message>
        <source>Pembatalan dicatat atas nama Anda dan dikirim ke pusat. Catatan asli tidak dihapus.</source>
        <translation>The void is recorded under your name and sent to the centre. The original record is not deleted.</translation>
    </message>
    <message>
        <source>Kembali</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>Alasan</source>
        <translation>Reason</translation>
    </message>
</context>
</TS>
