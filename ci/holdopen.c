/*
 * Holds a file open the way another Windows program would (an antivirus scan, an editor, an
 * installer reading the package): no sharing at all, so Windows refuses to rename, replace or
 * delete it while it is open. Used by ci/windows.sh only (issue 17: "--force over an output that
 * is open").
 *
 *   holdopen.exe FILE READY RELEASE
 *
 * Opens FILE without sharing, creates READY, waits (up to 120 s) until RELEASE exists, closes
 * FILE and exits 0. Exits 1 when FILE cannot be opened.
 */
#include <windows.h>

static BOOL exists(const wchar_t *path)
{
    return GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES;
}

int wmain(int argc, wchar_t **argv)
{
    if (argc != 4)
        return 2;
    HANDLE held = CreateFileW(argv[1], GENERIC_READ, 0, NULL, OPEN_EXISTING,
                              FILE_ATTRIBUTE_NORMAL, NULL);
    if (held == INVALID_HANDLE_VALUE)
        return 1;
    HANDLE ready = CreateFileW(argv[2], GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                               FILE_ATTRIBUTE_NORMAL, NULL);
    if (ready != INVALID_HANDLE_VALUE)
        CloseHandle(ready);
    for (int i = 0; i < 2400 && !exists(argv[3]); i++)
        Sleep(50);
    CloseHandle(held);
    return 0;
}
