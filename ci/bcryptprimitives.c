/*
 * A stand-in for bcryptprimitives.dll, which Wine 8 lacks: Rust's std and getrandom import
 * ProcessPrng from it on x86_64-pc-windows-gnu, and without it every run of intunewin.exe under
 * Wine exits 53 before main. ProcessPrng forwards to RtlGenRandom (advapi32's
 * SystemFunction036), the OS random generator. Used by ci/windows.sh only, put in a
 * throwaway WINEPREFIX; Windows 10 and later ship the real DLL.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
